package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.B;
import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.L;
import static io.kvcache.tensor.internal.vector.Species.LE;

import io.kvcache.tensor.internal.KScales;
import io.kvcache.tensor.internal.Le;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Dot products of Q4_K, Q5_K and Q6_K rows. Per sub-block the quant-x products and (for the
 * min term) the x sums are accumulated in vectors and scaled once. Stateless, thread-safe.
 */
public final class KQuantDots {
    private KQuantDots() {
    }

    public static float q4_k(MemorySegment seg, long offset, int blocks, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        FloatVector accMin = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, offset += 144) {
            float d = Le.f16(seg, offset);
            float dmin = Le.f16(seg, offset + 2);
            long scales = offset + 4;
            long qs = offset + 16;
            for (int c = 0; c < 4; c++, qs += 32, xOffset += 64) {
                FloatVector q1 = FloatVector.zero(F);
                FloatVector q2 = FloatVector.zero(F);
                FloatVector x1 = FloatVector.zero(F);
                FloatVector x2 = FloatVector.zero(F);
                for (int l = 0; l < 32; l += L) {
                    ByteVector v = ByteVector.fromMemorySegment(B, seg, qs + l, LE);
                    FloatVector a = FloatVector.fromArray(F, x, xOffset + l);
                    FloatVector bb = FloatVector.fromArray(F, x, xOffset + 32 + l);
                    q1 = ((FloatVector) v.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(a, q1);
                    q2 = ((FloatVector) v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4)
                            .reinterpretAsBytes().and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0))
                            .fma(bb, q2);
                    x1 = x1.add(a);
                    x2 = x2.add(bb);
                }
                acc = q1.fma(FloatVector.broadcast(F, d * KScales.scale(seg, scales, 2 * c)), acc);
                acc = q2.fma(FloatVector.broadcast(F, d * KScales.scale(seg, scales, 2 * c + 1)), acc);
                accMin = x1.fma(FloatVector.broadcast(F, dmin * KScales.min(seg, scales, 2 * c)), accMin);
                accMin = x2.fma(FloatVector.broadcast(F, dmin * KScales.min(seg, scales, 2 * c + 1)), accMin);
            }
        }
        return acc.sub(accMin).reduceLanes(VectorOperators.ADD);
    }

    public static float q5_k(MemorySegment seg, long offset, int blocks, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        FloatVector accMin = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, offset += 176) {
            float d = Le.f16(seg, offset);
            float dmin = Le.f16(seg, offset + 2);
            long scales = offset + 4;
            long qh = offset + 16;
            long qs = offset + 48;
            for (int c = 0; c < 4; c++, qs += 32, xOffset += 64) {
                FloatVector q1 = FloatVector.zero(F);
                FloatVector q2 = FloatVector.zero(F);
                FloatVector x1 = FloatVector.zero(F);
                FloatVector x2 = FloatVector.zero(F);
                // Move bit 2c (2c+1) of qh to bit 4: the fifth bit of the low (high) nibble's value.
                int loShift = 4 - 2 * c;
                int hiShift = 3 - 2 * c;
                // Byte shifts through 16-bit lanes (see SHIFTS), left by the positive part and right
                // by the negative part of each shift.
                int loLeft = Math.max(loShift, 0);
                int loRight = Math.max(-loShift, 0);
                int hiLeft = Math.max(hiShift, 0);
                int hiRight = Math.max(-hiShift, 0);
                for (int l = 0; l < 32; l += L) {
                    ByteVector v = ByteVector.fromMemorySegment(B, seg, qs + l, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, seg, qh + l, LE);
                    ByteVector lo = v.and((byte) 0x0F).or(h.reinterpretAsShorts().lanewise(VectorOperators.LSHL, loLeft)
                            .lanewise(VectorOperators.LSHR, loRight).reinterpretAsBytes().and((byte) 0x10));
                    ByteVector hi = v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                            .and((byte) 0x0F).or(h.reinterpretAsShorts().lanewise(VectorOperators.LSHL, hiLeft)
                            .lanewise(VectorOperators.LSHR, hiRight).reinterpretAsBytes().and((byte) 0x10));
                    FloatVector a = FloatVector.fromArray(F, x, xOffset + l);
                    FloatVector bb = FloatVector.fromArray(F, x, xOffset + 32 + l);
                    q1 = ((FloatVector) lo.convertShape(VectorOperators.B2F, F, 0)).fma(a, q1);
                    q2 = ((FloatVector) hi.convertShape(VectorOperators.B2F, F, 0)).fma(bb, q2);
                    x1 = x1.add(a);
                    x2 = x2.add(bb);
                }
                acc = q1.fma(FloatVector.broadcast(F, d * KScales.scale(seg, scales, 2 * c)), acc);
                acc = q2.fma(FloatVector.broadcast(F, d * KScales.scale(seg, scales, 2 * c + 1)), acc);
                accMin = x1.fma(FloatVector.broadcast(F, dmin * KScales.min(seg, scales, 2 * c)), accMin);
                accMin = x2.fma(FloatVector.broadcast(F, dmin * KScales.min(seg, scales, 2 * c + 1)), accMin);
            }
        }
        return acc.sub(accMin).reduceLanes(VectorOperators.ADD);
    }

    public static float q6_k(MemorySegment seg, long offset, int blocks, float[] x, int xOffset) {
        float sum = 0;
        for (int b = 0; b < blocks; b++, offset += 210) {
            float d = Le.f16(seg, offset + 208);
            for (int half = 0; half < 2; half++, xOffset += 128) {
                long ql = offset + 64L * half;
                long qh = offset + 128 + 32L * half;
                long sc = offset + 192 + 8L * half;
                // Quarter k: low bits from nibble k / 2 of ql[32 * (k % 2) + l], high bits 2k..2k+1 of qh[l].
                float s = q6Quarter(seg, ql, qh, false, 4, Le.s8(seg, sc), Le.s8(seg, sc + 1), x, xOffset)
                        + q6Quarter(seg, ql + 32, qh, false, 2, Le.s8(seg, sc + 2), Le.s8(seg, sc + 3), x, xOffset + 32)
                        + q6Quarter(seg, ql, qh, true, 0, Le.s8(seg, sc + 4), Le.s8(seg, sc + 5), x, xOffset + 64)
                        + q6Quarter(seg, ql + 32, qh, true, -2, Le.s8(seg, sc + 6), Le.s8(seg, sc + 7), x, xOffset + 96);
                sum += d * s;
            }
        }
        return sum;
    }

    /**
     * One 32-element quarter of a Q6_K half: two groups of 16 with their own int8 scales. A
     * separate method returning a float: a half or a whole super-block in one method exceeds C2's
     * inlining node budget (NodeCountInliningCutoff), and a vector kernel that is not fully
     * inlined boxes every vector.
     */
    private static float q6Quarter(MemorySegment seg, long ql, long qh, boolean highNibble, int highShift,
            int scale0, int scale1, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        FloatVector s0 = FloatVector.broadcast(F, scale0);
        FloatVector s1 = FloatVector.broadcast(F, scale1);
        int highLeft = Math.max(highShift, 0); // see SHIFTS
        int highRight = Math.max(-highShift, 0);
        for (int l = 0; l < 32; l += L) {
            ByteVector lo = ByteVector.fromMemorySegment(B, seg, ql + l, LE);
            lo = highNibble ? lo.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                    .and((byte) 0x0F) : lo.and((byte) 0x0F);
            ByteVector hi = ByteVector.fromMemorySegment(B, seg, qh + l, LE).reinterpretAsShorts()
                    .lanewise(VectorOperators.LSHL, highLeft).lanewise(VectorOperators.LSHR, highRight)
                    .reinterpretAsBytes().and((byte) 0x30);
            FloatVector qx = ((FloatVector) lo.or(hi).sub((byte) 32).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromArray(F, x, xOffset + l));
            acc = qx.fma(l < 16 ? s0 : s1, acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /*
     * SHIFTS: bytes are shifted through 16-bit lanes: x86 has no byte shifts, 16-bit ones are
     * single instructions. Bits crossing into the neighbouring byte are garbage, so the results are
     * masked to bits that stayed in place. Written out where used rather than in a helper: a vector
     * passed to a method C2 did not inline is boxed (see VectorExpf).
     */
}
