package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.B;
import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.L;
import static io.kvcache.tensor.internal.vector.Species.LE;
import static io.kvcache.tensor.internal.vector.Species.toFloat;

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
                    q1 = toFloat(v.and((byte) 0x0F)).fma(a, q1);
                    q2 = toFloat(v.lanewise(VectorOperators.LSHR, 4)).fma(bb, q2);
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
                int shift = 2 * c;
                for (int l = 0; l < 32; l += L) {
                    ByteVector v = ByteVector.fromMemorySegment(B, seg, qs + l, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, seg, qh + l, LE).lanewise(VectorOperators.LSHR, shift);
                    ByteVector lo = v.and((byte) 0x0F).or(h.and((byte) 1).lanewise(VectorOperators.LSHL, 4));
                    ByteVector hi = v.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 2).lanewise(VectorOperators.LSHL, 3));
                    FloatVector a = FloatVector.fromArray(F, x, xOffset + l);
                    FloatVector bb = FloatVector.fromArray(F, x, xOffset + 32 + l);
                    q1 = toFloat(lo).fma(a, q1);
                    q2 = toFloat(hi).fma(bb, q2);
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
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, offset += 210) {
            float d = Le.f16(seg, offset + 208);
            for (int half = 0; half < 2; half++, xOffset += 128) {
                long ql = offset + 64L * half;
                long qh = offset + 128 + 32L * half;
                long sc = offset + 192 + 8L * half;
                for (int l = 0; l < 32; l += L) {
                    ByteVector lo = ByteVector.fromMemorySegment(B, seg, ql + l, LE);
                    ByteVector hi = ByteVector.fromMemorySegment(B, seg, ql + 32 + l, LE);
                    ByteVector h = ByteVector.fromMemorySegment(B, seg, qh + l, LE);
                    ByteVector q1 = lo.and((byte) 0x0F).or(h.and((byte) 3).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    ByteVector q2 = hi.and((byte) 0x0F).or(h.and((byte) 0x0C).lanewise(VectorOperators.LSHL, 2)).sub((byte) 32);
                    ByteVector q3 = lo.lanewise(VectorOperators.LSHR, 4).or(h.and((byte) 0x30)).sub((byte) 32);
                    ByteVector q4 = hi.lanewise(VectorOperators.LSHR, 4).or(h.lanewise(VectorOperators.LSHR, 6).lanewise(VectorOperators.LSHL, 4)).sub((byte) 32);
                    int is = l / 16;
                    acc = toFloat(q1).mul(FloatVector.fromArray(F, x, xOffset + l)).fma(FloatVector.broadcast(F, d * Le.s8(seg, sc + is)), acc);
                    acc = toFloat(q2).mul(FloatVector.fromArray(F, x, xOffset + 32 + l)).fma(FloatVector.broadcast(F, d * Le.s8(seg, sc + is + 2)), acc);
                    acc = toFloat(q3).mul(FloatVector.fromArray(F, x, xOffset + 64 + l)).fma(FloatVector.broadcast(F, d * Le.s8(seg, sc + is + 4)), acc);
                    acc = toFloat(q4).mul(FloatVector.fromArray(F, x, xOffset + 96 + l)).fma(FloatVector.broadcast(F, d * Le.s8(seg, sc + is + 6)), acc);
                }
            }
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
