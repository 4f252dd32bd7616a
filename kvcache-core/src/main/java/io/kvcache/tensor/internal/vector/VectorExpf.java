package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.L;

import io.kvcache.tensor.internal.Expf;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link Expf#exp} over an array range, lane-wise: the same bits in every element as the scalar
 * form. It takes and returns arrays, never a vector: a vector passed to or returned from a method
 * that C2 did not inline is boxed, an allocation per call (measured: with this class's former
 * vector-in, vector-out methods told not to inline, a bench-110m decode step allocated 430 KB per
 * token; whether C2 inlines a method is its own decision). Stateless, thread-safe.
 */
public final class VectorExpf {
    private VectorExpf() {
    }

    /**
     * {@code dst[dstFrom + i] = expf(sign * src[from + i] - shift)} for {@code i < count}
     * ({@code dst} may be {@code src} at the same offset). {@code sign * x - shift} is exact for
     * {@code sign} 1 or -1 and {@code shift} 0 (a negation), and is {@code x - shift} for sign 1.
     * Vector lanes where 2^n is outside the normal range (the scale needs two factors) go through
     * the scalar {@link Expf#exp}, a vector at a time.
     */
    public static void exp(float[] src, int from, int count, float sign, float shift, float[] dst, int dstFrom) {
        int i = 0;
        for (; i + L <= count; i += L) {
            FloatVector v = FloatVector.fromArray(F, src, from + i).mul(sign).sub(shift);
            FloatVector z = v.fma(Expf.LOG2E, Expf.SHIFT);
            FloatVector n = z.sub(Expf.SHIFT);
            if (n.abs().compare(VectorOperators.GT, Expf.SCALE_LIMIT).anyTrue()) {
                for (int j = i; j < i + L; j++) {
                    dst[dstFrom + j] = Expf.exp(src[from + j] * sign - shift);
                }
                continue;
            }
            FloatVector minusN = n.neg();
            FloatVector b = minusN.fma(FloatVector.broadcast(F, Expf.LN2_LO),
                    minusN.fma(FloatVector.broadcast(F, Expf.LN2_HI), v));
            FloatVector k = z.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).add(0x3f800000)
                    .reinterpretAsFloats();
            FloatVector u = b.mul(b);
            FloatVector j = b.fma(Expf.C4, Expf.C3).fma(u, b.fma(Expf.C2, Expf.C1)).fma(u, b.mul(Expf.C0));
            j.fma(k, k).intoArray(dst, dstFrom + i);
        }
        for (; i < count; i++) {
            dst[dstFrom + i] = Expf.exp(src[from + i] * sign - shift);
        }
    }
}
