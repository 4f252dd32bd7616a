package io.kvcache.tensor.internal.vector;

import io.kvcache.tensor.internal.Expf;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link Expf#exp} lane-wise, for any float species: the same bits in every lane as the scalar
 * form. Small static methods that C2 inlines into the calling loop, so no vector is boxed (the
 * allocation tests of the decode step check that). Stateless, thread-safe.
 */
public final class VectorExpf {
    private VectorExpf() {
    }

    /**
     * Whether every lane of {@code exp(v)} takes the fast path; when not, the caller computes those
     * lanes with {@link Expf#exp} (2^n outside the normal range needs two factors).
     */
    public static boolean inRange(FloatVector v) {
        FloatVector n = v.fma(Expf.LOG2E, Expf.SHIFT).sub(Expf.SHIFT);
        return !n.abs().compare(VectorOperators.GT, Expf.SCALE_LIMIT).anyTrue();
    }

    /** {@code exp(v)} lane-wise; only when {@link #inRange} holds for {@code v}. */
    public static FloatVector exp(FloatVector v) {
        FloatVector z = v.fma(Expf.LOG2E, Expf.SHIFT);
        FloatVector minusN = z.sub(Expf.SHIFT).neg();
        FloatVector b = minusN.fma(FloatVector.broadcast(v.species(), Expf.LN2_LO),
                minusN.fma(FloatVector.broadcast(v.species(), Expf.LN2_HI), v));
        FloatVector k = z.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).add(0x3f800000).reinterpretAsFloats();
        FloatVector u = b.mul(b);
        FloatVector j = b.fma(Expf.C4, Expf.C3).fma(u, b.fma(Expf.C2, Expf.C1)).fma(u, b.mul(Expf.C0));
        return j.fma(k, k);
    }
}
