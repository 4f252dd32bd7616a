package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.B;
import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.L;
import static io.kvcache.tensor.internal.vector.Species.LE;

import io.kvcache.tensor.internal.Le;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Dot products of Q8_0, Q4_0 and Q4_1 rows: each block's quants are widened to floats inside the
 * loop, multiplied with x, and the block sum is scaled once by the block's d (and m). High
 * nibbles come from a 16-bit shift (x86 has no byte shift; C2's emulation of a byte {@code LSHR}
 * measured 15% slower on the whole Q4_0 kernel). The conversions are written out in the loops, not
 * in helpers: a vector passed to a method C2 did not inline is boxed (see {@link VectorExpf}).
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
            FloatVector s = ((FloatVector) ByteVector.fromMemorySegment(B, seg, q, LE)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xOffset));
            FloatVector t = ((FloatVector) ByteVector.fromMemorySegment(B, seg, q + L, LE)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xOffset + L));
            for (int j = 2 * L; j < 32; j += 2 * L) {
                s = ((FloatVector) ByteVector.fromMemorySegment(B, seg, q + j, LE)
                        .convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, xOffset + j), s);
                t = ((FloatVector) ByteVector.fromMemorySegment(B, seg, q + j + L, LE)
                        .convertShape(VectorOperators.B2F, F, 0))
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
            FloatVector s = ((FloatVector) v.and((byte) 0x0F).sub((byte) 8)
                    .convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, xOffset));
            FloatVector t = ((FloatVector) v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4)
                    .reinterpretAsBytes().and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
                    .mul(FloatVector.fromArray(F, x, xOffset + 16));
            for (int j = L; j < 16; j += L) {
                v = ByteVector.fromMemorySegment(B, seg, quants + j, LE);
                s = ((FloatVector) v.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xOffset + j), s);
                t = ((FloatVector) v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                        .and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
                        .fma(FloatVector.fromArray(F, x, xOffset + 16 + j), t);
            }
            acc = s.add(t).fma(FloatVector.broadcast(F, seg.get(Le.FLOAT, offset + 4L * k)), acc);
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
                sq = ((FloatVector) v.and((byte) 0x0F).convertShape(VectorOperators.B2F, F, 0)).fma(x0, sq);
                sq = ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.B2F, F, 0))
                        .fma(x1, sq);
                sx = sx.add(x0).add(x1);
            }
            acc = sq.fma(FloatVector.broadcast(F, Le.f16(seg, offset)), acc);
            acc = sx.fma(FloatVector.broadcast(F, Le.f16(seg, offset + 2)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
