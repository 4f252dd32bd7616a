package io.kvcache.bench.jmh;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Verbatim copies of the Q8_0 and Q4_0 row kernels as they were before issue #7's matvec work
 * (one FMA chain per block, byte LSHR), for the 8-lane (AVX2) shape only, so
 * {@link MatvecBenchmark} measures old against new kernels in the same run. Stateless,
 * thread-safe.
 */
final class BaselineKernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_256;
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_64;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private BaselineKernels() {
    }

    private static FloatVector toFloat(ByteVector v) {
        return (FloatVector) v.convertShape(VectorOperators.B2F, F, 0);
    }

    private static float f16(MemorySegment seg, long offset) {
        return Float.float16ToFloat(seg.get(SHORT, offset));
    }

    static float q8_0(MemorySegment seg, long offset, int blocks, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, offset += 34, xOffset += 32) {
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 32; j += 8) {
                FloatVector q = toFloat(ByteVector.fromMemorySegment(B, seg, offset + 2 + j, LE));
                s = q.fma(FloatVector.fromArray(F, x, xOffset + j), s);
            }
            acc = s.fma(FloatVector.broadcast(F, f16(seg, offset)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static float q4_0(MemorySegment seg, long offset, int blocks, float[] x, int xOffset) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, offset += 18, xOffset += 32) {
            FloatVector s = FloatVector.zero(F);
            for (int j = 0; j < 16; j += 8) {
                ByteVector v = ByteVector.fromMemorySegment(B, seg, offset + 2 + j, LE);
                FloatVector lo = toFloat(v.and((byte) 0x0F).sub((byte) 8));
                FloatVector hi = toFloat(v.lanewise(VectorOperators.LSHR, 4).sub((byte) 8));
                s = lo.fma(FloatVector.fromArray(F, x, xOffset + j), s);
                s = hi.fma(FloatVector.fromArray(F, x, xOffset + 16 + j), s);
            }
            acc = s.fma(FloatVector.broadcast(F, f16(seg, offset)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
