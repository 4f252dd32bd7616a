package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.B;
import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.L;
import static io.kvcache.tensor.internal.vector.Species.LE;
import static io.kvcache.tensor.internal.vector.Species.toFloat;

import io.kvcache.tensor.internal.Le;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Dot products of Q8_0, Q4_0 and Q4_1 rows: each block's quants are widened to floats inside the
 * loop, multiplied with x, and the block sum is scaled once by the block's d (and m).
 * Stateless, thread-safe.
 */
public final class LegacyQuantDots {
    private LegacyQuantDots() {
    }

    public static float q8_0(MemorySegment seg, long offset, int blocks, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, offset += 34, xOffset += 32) {
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 32; j += L) {
                FloatVector q = toFloat(ByteVector.fromMemorySegment(B, seg, offset + 2 + j, LE));
                s = q.fma(FloatVector.fromArray(F, x, xOffset + j), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Le.f16(seg, offset)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    public static float q4_0(MemorySegment seg, long offset, int blocks, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, offset += 18, xOffset += 32) {
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 16; j += L) {
                ByteVector v = ByteVector.fromMemorySegment(B, seg, offset + 2 + j, LE);
                FloatVector lo = toFloat(v.and((byte) 0x0F).sub((byte) 8));
                FloatVector hi = toFloat(v.lanewise(VectorOperators.LSHR, 4).sub((byte) 8));
                s = lo.fma(FloatVector.fromArray(F, x, xOffset + j), s);
                s = hi.fma(FloatVector.fromArray(F, x, xOffset + 16 + j), s);
            }
            acc = s.fma(FloatVector.broadcast(F, Le.f16(seg, offset)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    public static float q4_1(MemorySegment seg, long offset, int blocks, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, offset += 20, xOffset += 32) {
            FloatVector sq = FloatVector.zero(F);
            FloatVector sx = FloatVector.zero(F);
            for (int j = 0; j < 16; j += L) {
                ByteVector v = ByteVector.fromMemorySegment(B, seg, offset + 4 + j, LE);
                FloatVector x0 = FloatVector.fromArray(F, x, xOffset + j);
                FloatVector x1 = FloatVector.fromArray(F, x, xOffset + 16 + j);
                sq = toFloat(v.and((byte) 0x0F)).fma(x0, sq);
                sq = toFloat(v.lanewise(VectorOperators.LSHR, 4)).fma(x1, sq);
                sx = sx.add(x0).add(x1);
            }
            acc = sq.fma(FloatVector.broadcast(F, Le.f16(seg, offset)), acc);
            acc = sx.fma(FloatVector.broadcast(F, Le.f16(seg, offset + 2)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
