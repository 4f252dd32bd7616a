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
import jdk.incubator.vector.VectorOperators;

/**
 * Dot products of F32, F16 and BF16 rows with float vectors. No vector passes through a helper
 * method (see {@link VectorExpf}). Thread-safe; {@link #f16} widens into a per-thread array.
 */
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

    /** Per-thread widened halves of {@link #f16}; grown on demand. */
    private static final ThreadLocal<float[]> WIDENED = ThreadLocal.withInitial(() -> new float[0]);

    /**
     * The halves are widened into a per-thread array first ({@link Le#f16s}: C2 turns that loop
     * into F16C conversions), then multiplied as {@link #arrays} does: the same products, summed in
     * the same order, as widening each vector with bit operations inside the loop, with no vector
     * passing through a helper.
     */
    public static float f16(MemorySegment seg, long offset, int n, float[] x, int xOffset) {
        float[] w = WIDENED.get();
        if (w.length < n) {
            w = new float[n];
            WIDENED.set(w);
        }
        Le.f16s(seg, offset, n, w, 0);
        return arrays(w, 0, x, xOffset, n);
    }

    public static float bf16(MemorySegment seg, long offset, int n, float[] x, int xOffset) {
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        int i = 0;
        for (; i + 2 * L <= n; i += 2 * L) {
            // bfloat16 is the high half of a float
            a0 = ((IntVector) ShortVector.fromMemorySegment(S, seg, offset + 2L * i, LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    .fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = ((IntVector) ShortVector.fromMemorySegment(S, seg, offset + 2L * (i + L), LE)
                    .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    .fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
        }
        float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Float.intBitsToFloat(seg.get(Le.SHORT, offset + 2L * i) << 16) * x[xOffset + i];
        }
        return sum;
    }
}
