package io.kvcache.bench.jmh;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Verbatim copies of the first integer Q8_0 and Q4_0 kernels on Q8_0-quantized activations (one
 * row per pass, signed nibbles, four-shift pair sums), so {@link MatvecBenchmark} measures them
 * against the current ones in the same run ({@code path=int8old}). Stateless, thread-safe.
 */
final class BaselineInt8Kernels {
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Short> S16 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    private BaselineInt8Kernels() {
    }

    private static float f16(MemorySegment seg, long offset) {
        return Float.float16ToFloat(seg.get(SHORT, offset));
    }

    static void q8_0(MemorySegment seg, long offset, long rowBytes, int count, int blocks, short[] xq,
            float[] xd, float[] out, int outOffset) {
        for (int r = 0; r < count; r++, offset += rowBytes) {
            out[outOffset + r] = q8_0Row(seg, offset, blocks, xq, xd);
        }
    }

    private static float q8_0Row(MemorySegment seg, long offset, int blocks, short[] xq, float[] xd) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++, offset += 34) {
            ShortVector w0 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, offset + 2, LE)
                    .convertShape(VectorOperators.B2S, S16, 0);
            ShortVector w1 = (ShortVector) ByteVector.fromMemorySegment(B16, seg, offset + 18, LE)
                    .convertShape(VectorOperators.B2S, S16, 0);
            ShortVector p = w0.mul(ShortVector.fromArray(S16, xq, 32 * b))
                    .add(w1.mul(ShortVector.fromArray(S16, xq, 32 * b + 16)));
            acc = pairSums(p).fma(FloatVector.broadcast(F8, f16(seg, offset) * xd[b]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    static void q4_0(MemorySegment seg, long offset, long rowBytes, int count, int blocks, short[] xq,
            float[] xd, float[] out, int outOffset) {
        for (int r = 0; r < count; r++, offset += rowBytes) {
            out[outOffset + r] = q4_0Row(seg, offset, blocks, xq, xd);
        }
    }

    private static float q4_0Row(MemorySegment seg, long offset, int blocks, short[] xq, float[] xd) {
        FloatVector acc = FloatVector.zero(F8);
        for (int b = 0; b < blocks; b++, offset += 18) {
            ByteVector v = ByteVector.fromMemorySegment(B16, seg, offset + 2, LE);
            ShortVector w0 = (ShortVector) v.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2S, S16, 0);
            ShortVector w1 = (ShortVector) v.reinterpretAsShorts().lanewise(VectorOperators.LSHR, 4).reinterpretAsBytes()
                    .and((byte) 0x0F).sub((byte) 8)
                    .convertShape(VectorOperators.B2S, S16, 0);
            ShortVector p = w0.mul(ShortVector.fromArray(S16, xq, 32 * b))
                    .add(w1.mul(ShortVector.fromArray(S16, xq, 32 * b + 16)));
            acc = pairSums(p).fma(FloatVector.broadcast(F8, f16(seg, offset) * xd[b]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    private static FloatVector pairSums(ShortVector p) {
        IntVector pairs = p.reinterpretAsInts();
        IntVector sums = pairs.lanewise(VectorOperators.ASHR, 16)
                .add(pairs.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16));
        return (FloatVector) sums.convert(VectorOperators.I2F, 0);
    }
}
