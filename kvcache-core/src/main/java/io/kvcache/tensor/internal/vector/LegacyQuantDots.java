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

    /*
     * Q8_0 and Q4_0 keep two independent partial sums per block: with one, the block's FMAs form
     * a single dependency chain and the loop runs at FMA latency instead of throughput (measured
     * 1.3x faster on AVX2). Grouping several rows per pass (sharing the x loads) did NOT help:
     * it spills registers and ran slower than one row at a time.
     */

    public static float q8_0(MemorySegment seg, long offset, int blocks, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, offset += 34, xOffset += 32) {
            long q = offset + 2;
            FloatVector s = toFloat(ByteVector.fromMemorySegment(B, seg, q, LE)).mul(FloatVector.fromArray(F, x, xOffset));
            FloatVector t = toFloat(ByteVector.fromMemorySegment(B, seg, q + L, LE)).mul(FloatVector.fromArray(F, x, xOffset + L));
            for (int j = 2 * L; j < 32; j += 2 * L) {
                s = toFloat(ByteVector.fromMemorySegment(B, seg, q + j, LE)).fma(FloatVector.fromArray(F, x, xOffset + j), s);
                t = toFloat(ByteVector.fromMemorySegment(B, seg, q + j + L, LE))
                        .fma(FloatVector.fromArray(F, x, xOffset + j + L), t);
            }
            acc = s.add(t).fma(FloatVector.broadcast(F, Le.f16(seg, offset)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Row {@code k} of the Q4_0 group whose first block is at byte {@code offset}, in
     * {@code Q4_0Matrix}'s grouped layout (see {@link PanelDequant#q4_0}).
     */
    public static float q4_0(MemorySegment seg, long offset, int k, int blocks, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, offset += PanelDequant.Q4_0_GROUP_BLOCK, xOffset += 32) {
            long quants = offset + 16 + 16L * k;
            ByteVector v = ByteVector.fromMemorySegment(B, seg, quants, LE);
            // s sums the low nibbles (elements 0..15), t the high ones (16..31).
            FloatVector s = toFloat(v.and((byte) 0x0F).sub((byte) 8)).mul(FloatVector.fromArray(F, x, xOffset));
            FloatVector t = toFloat(highNibbles(v).sub((byte) 8)).mul(FloatVector.fromArray(F, x, xOffset + 16));
            for (int j = L; j < 16; j += L) {
                v = ByteVector.fromMemorySegment(B, seg, quants + j, LE);
                s = toFloat(v.and((byte) 0x0F).sub((byte) 8)).fma(FloatVector.fromArray(F, x, xOffset + j), s);
                t = toFloat(highNibbles(v).sub((byte) 8)).fma(FloatVector.fromArray(F, x, xOffset + 16 + j), t);
            }
            acc = s.add(t).fma(FloatVector.broadcast(F, seg.get(Le.FLOAT, offset + 4L * k)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * The high nibble of every byte through a 16-bit shift: x86 has no byte shift, and C2's
     * emulation of a byte {@code LSHR} is slower (measured 15% on the whole Q4_0 kernel).
     */
    static ByteVector highNibbles(ByteVector v) {
        return v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes().and((byte) 0x0F);
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
