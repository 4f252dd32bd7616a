package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.I;
import static io.kvcache.tensor.internal.vector.Species.L;
import static io.kvcache.tensor.internal.vector.Species.LE;
import static io.kvcache.tensor.internal.vector.Species.S;

import io.kvcache.tensor.internal.Le;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/** Dot products of F32, F16 and BF16 rows with float vectors. Stateless, thread-safe. */
public final class FloatDots {
    private FloatDots() {
    }

    public static float f32(MemorySegment seg, long offset, int n, float[] x, int xOffset) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = FloatVector.fromMemorySegment(F, seg, offset + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = FloatVector.fromMemorySegment(F, seg, offset + 4L * (i + L), LE)
                    .fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
        }
        float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += seg.get(Le.FLOAT, offset + 4L * i) * x[xOffset + i];
        }
        return sum;
    }

    /** {@code a[aOffset..+n) . b[bOffset..+n)}. */
    public static float arrays(float[] a, int aOffset, float[] b, int bOffset, int n) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), a0);
            a1 = FloatVector.fromArray(F, a, aOffset + i + L).fma(FloatVector.fromArray(F, b, bOffset + i + L), a1);
        }
        float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
    }

    public static float f16(MemorySegment seg, long offset, int n, float[] x, int xOffset) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = halfToFloat(ShortVector.fromMemorySegment(S, seg, offset + 2L * i, LE))
                    .fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = halfToFloat(ShortVector.fromMemorySegment(S, seg, offset + 2L * (i + L), LE))
                    .fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
        }
        float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Le.f16(seg, offset + 2L * i) * x[xOffset + i];
        }
        return sum;
    }

    public static float bf16(MemorySegment seg, long offset, int n, float[] x, int xOffset) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            a0 = brainToFloat(ShortVector.fromMemorySegment(S, seg, offset + 2L * i, LE))
                    .fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = brainToFloat(ShortVector.fromMemorySegment(S, seg, offset + 2L * (i + L), LE))
                    .fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
        }
        float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Float.intBitsToFloat(seg.get(Le.SHORT, offset + 2L * i) << 16) * x[xOffset + i];
        }
        return sum;
    }

    /**
     * Exact half-to-single widening without a hardware instruction: the magnitude bits shifted
     * into single position read as a float 2^112 times too small (also for subnormal halves), so
     * one multiply fixes the exponent; infinities and NaNs (exponent 31) are rebuilt directly.
     */
    static FloatVector halfToFloat(ShortVector h) {
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        IntVector magnitude = bits.and(0x7fff);
        IntVector shifted = magnitude.lanewise(VectorOperators.LSHL, 13);
        IntVector finite = shifted.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts();
        VectorMask<Integer> special = magnitude.compare(VectorOperators.GE, 0x7c00);
        IntVector result = finite.blend(shifted.or(0x7f800000), special)
                .or(bits.and(0x8000).lanewise(VectorOperators.LSHL, 16));
        return result.reinterpretAsFloats();
    }

    static FloatVector brainToFloat(ShortVector h) {
        IntVector bits = (IntVector) h.convertShape(VectorOperators.S2I, I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }
}
