package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.B;
import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.I;
import static io.kvcache.tensor.internal.vector.Species.L;
import static io.kvcache.tensor.internal.vector.Species.LE;
import static io.kvcache.tensor.internal.vector.Species.S;

import io.kvcache.tensor.internal.KScales;
import io.kvcache.tensor.internal.Le;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Vectorized row dequantizers that fill the weight panels of {@link GemmKernels}: each writes
 * exactly the floats of the matrix's scalar {@code dequantize} (llama.cpp's formulas, the same
 * operations in the same order: a multiply and then an add, never a fused multiply-add), reading
 * {@code blocks} blocks (or {@code n} elements) from byte {@code offset}. Stateless, thread-safe.
 */
public final class PanelDequant {
    private PanelDequant() {
    }

    /** {@code n} little-endian floats; a plain copy. */
    public static void f32(MemorySegment seg, long offset, int n, float[] dst, int dstOffset) {
        MemorySegment.copy(seg, Le.FLOAT, offset, dst, dstOffset, n);
    }

    /** {@code n} halves (see {@link Le#f16s}: auto-vectorized F16C beats Vector API bit operations). */
    public static void f16(MemorySegment seg, long offset, int n, float[] dst, int dstOffset) {
        Le.f16s(seg, offset, n, dst, dstOffset);
    }

    public static void bf16(MemorySegment seg, long offset, int n, float[] dst, int dstOffset) {
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            ((IntVector) ShortVector.fromMemorySegment(S, seg, offset + 2L * i, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    .intoArray(dst, dstOffset + i); // bfloat16 is the high half of a float
        }
        for (; i < n; i++) {
            dst[dstOffset + i] = Float.intBitsToFloat(seg.get(Le.SHORT, offset + 2L * i) << 16);
        }
    }

    /** Q8_0 blocks {@code {f16 d; int8 qs[32]}}: {@code y = q * d}. */
    public static void q8_0(MemorySegment seg, long offset, int blocks, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += 34, dstOffset += 32) {
            FloatVector d = FloatVector.broadcast(F, Le.f16(seg, offset));
            for (int j = 0; j < 32; j += L) {
                ((FloatVector) ByteVector.fromMemorySegment(B, seg, offset + 2 + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, dstOffset + j);
            }
        }
    }

    /**
     * Row {@code k} of the Q4_0 group whose first block is at byte {@code offset}, in
     * {@code Q4_0Matrix}'s grouped layout (blocks of {@value #Q4_0_GROUP_BLOCK} bytes: four float
     * scales, then four rows' 16 quant bytes): {@code y = (nibble - 8) * d}, low nibbles first.
     */
    public static void q4_0(MemorySegment seg, long offset, int k, int blocks, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += Q4_0_GROUP_BLOCK, dstOffset += 32) {
            FloatVector d = FloatVector.broadcast(F, seg.get(Le.FLOAT, offset + 4L * k));
            long quants = offset + 16 + 16L * k;
            for (int j = 0; j < 16; j += L) {
                ByteVector v = ByteVector.fromMemorySegment(B, seg, quants + j, LE);
                ((FloatVector) v.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d)
                        .intoArray(dst, dstOffset + j);
                ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub((byte) 8)
                        .convertShape(VectorOperators.B2F, F, 0)).mul(d).intoArray(dst, dstOffset + 16 + j);
            }
        }
    }

    /**
     * Bytes per block of a group of four Q4_0 rows in {@code Q4_0Matrix}'s layout: four float
     * scales, then four rows' 16 quant bytes.
     */
    public static final int Q4_0_GROUP_BLOCK = 4 * 4 + 4 * 16;

    /** Q4_1 blocks {@code {f16 d; f16 m; uint8 qs[16]}}: {@code y = nibble * d + m}, low nibbles first. */
    public static void q4_1(MemorySegment seg, long offset, int blocks, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += 20, dstOffset += 32) {
            FloatVector d = FloatVector.broadcast(F, Le.f16(seg, offset));
            FloatVector m = FloatVector.broadcast(F, Le.f16(seg, offset + 2));
            for (int j = 0; j < 16; j += L) {
                ByteVector v = ByteVector.fromMemorySegment(B, seg, offset + 4 + j, LE);
                ((FloatVector) v.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).mul(d).add(m)
                        .intoArray(dst, dstOffset + j);
                ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0)).mul(d)
                        .add(m).intoArray(dst, dstOffset + 16 + j);
            }
        }
    }

    /** Q4_K super-blocks (see Q4_KMatrix): {@code y = d*sc * nibble - dmin*m} per 32-element sub-block. */
    public static void q4_k(MemorySegment seg, long offset, int blocks, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += 144) {
            float d = Le.f16(seg, offset);
            float dmin = Le.f16(seg, offset + 2);
            long scales = offset + 4;
            long qs = offset + 16;
            for (int c = 0; c < 4; c++, qs += 32, dstOffset += 64) {
                FloatVector d1 = FloatVector.broadcast(F, d * KScales.scale(seg, scales, 2 * c));
                FloatVector m1 = FloatVector.broadcast(F, dmin * KScales.min(seg, scales, 2 * c));
                FloatVector d2 = FloatVector.broadcast(F, d * KScales.scale(seg, scales, 2 * c + 1));
                FloatVector m2 = FloatVector.broadcast(F, dmin * KScales.min(seg, scales, 2 * c + 1));
                for (int l = 0; l < 32; l += L) {
                    ByteVector v = ByteVector.fromMemorySegment(B, seg, qs + l, LE);
                    ((FloatVector) v.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).mul(d1).sub(m1)
                            .intoArray(dst, dstOffset + l);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d2).sub(m2).intoArray(dst, dstOffset + 32 + l);
                }
            }
        }
    }

    /** Q5_K super-blocks (see Q5_KMatrix): Q4_K plus a fifth bit per element from {@code qh}. */
    public static void q5_k(MemorySegment seg, long offset, int blocks, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += 176) {
            float d = Le.f16(seg, offset);
            float dmin = Le.f16(seg, offset + 2);
            long scales = offset + 4;
            long qh = offset + 16;
            long qs = offset + 48;
            for (int c = 0; c < 4; c++, qs += 32, dstOffset += 64) {
                FloatVector d1 = FloatVector.broadcast(F, d * KScales.scale(seg, scales, 2 * c));
                FloatVector m1 = FloatVector.broadcast(F, dmin * KScales.min(seg, scales, 2 * c));
                FloatVector d2 = FloatVector.broadcast(F, d * KScales.scale(seg, scales, 2 * c + 1));
                FloatVector m2 = FloatVector.broadcast(F, dmin * KScales.min(seg, scales, 2 * c + 1));
                for (int l = 0; l < 32; l += L) {
                    ByteVector v = ByteVector.fromMemorySegment(B, seg, qs + l, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, seg, qh + l, LE);
                    ByteVector h1 = h.lanewise(VectorOperators.LSHR, 2 * c).and((byte) 1)
                            .lanewise(VectorOperators.LSHL, 4);
                    ByteVector h2 = h.lanewise(VectorOperators.LSHR, 2 * c + 1).and((byte) 1)
                            .lanewise(VectorOperators.LSHL, 4);
                    ((FloatVector) v.and((byte) 0x0F).or(h1).convertShape(VectorOperators.B2F, F, 0)).mul(d1)
                            .sub(m1).intoArray(dst, dstOffset + l);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).or(h2)
                            .convertShape(VectorOperators.B2F, F, 0)).mul(d2).sub(m2)
                            .intoArray(dst, dstOffset + 32 + l);
                }
            }
        }
    }

    /** Q6_K super-blocks (see Q6_KMatrix): {@code y = d * scale * (q6 - 32)}, 16 elements per scale. */
    public static void q6_k(MemorySegment seg, long offset, int blocks, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += 210) {
            float d = Le.f16(seg, offset + 208);
            for (int half = 0; half < 2; half++, dstOffset += 128) {
                long ql = offset + 64L * half;
                long qh = offset + 128 + 32L * half;
                long sc = offset + 192 + 8L * half;
                for (int l = 0; l < 32; l += L) {
                    int is = l / 16; // constant across the vector: L divides 16
                    ByteVector lo = ByteVector.fromMemorySegment(B, seg, ql + l, LE);
                    ByteVector hi = ByteVector.fromMemorySegment(B, seg, ql + 32 + l, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, seg, qh + l, LE);
                    ByteVector q1 = lo.and((byte) 0x0F).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    ByteVector q2 = hi.and((byte) 0x0F).or(h.lanewise(VectorOperators.LSHR, 2).and((byte) 3)
                            .lanewise(VectorOperators.LSHL, 4));
                    ByteVector q3 = lo.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 4)
                            .and((byte) 3).lanewise(VectorOperators.LSHL, 4));
                    ByteVector q4 = hi.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 6)
                            .lanewise(VectorOperators.LSHL, 4));
                    ((FloatVector) q1.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d * Le.s8(seg, sc + is)).intoArray(dst, dstOffset + l);
                    ((FloatVector) q2.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d * Le.s8(seg, sc + is + 2)).intoArray(dst, dstOffset + l + 32);
                    ((FloatVector) q3.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d * Le.s8(seg, sc + is + 4)).intoArray(dst, dstOffset + l + 64);
                    ((FloatVector) q4.sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                            .mul(d * Le.s8(seg, sc + is + 6)).intoArray(dst, dstOffset + l + 96);
                }
            }
        }
    }
}
