package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.L;

import io.kvcache.tensor.internal.Expf;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The gated feed-forward activation {@code gate[i] = silu(gate[i]) * up[i]} with
 * {@code silu(x) = x / (1 + expf(-x))} and llama.cpp's {@link Expf} computed lane-wise (its
 * {@code ggml_v_silu}): bit-identical to the scalar form, about 10x cheaper than {@code Math.exp}
 * per element. Stateless, thread-safe.
 */
public final class SwiGlu {
    private SwiGlu() {
    }

    /** {@code gate[i] = silu(gate[i]) * up[i]} for {@code i < n}. */
    public static void apply(float[] gate, float[] up, int n) {
        FloatVector shift = FloatVector.broadcast(F, Expf.SHIFT);
        FloatVector log2e = FloatVector.broadcast(F, Expf.LOG2E);
        FloatVector ln2Hi = FloatVector.broadcast(F, Expf.LN2_HI);
        FloatVector ln2Lo = FloatVector.broadcast(F, Expf.LN2_LO);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector x = FloatVector.fromArray(F, gate, i);
            // Expf.exp(-x) lane-wise, in line: a vector handed between methods may be boxed.
            FloatVector v = x.neg();
            FloatVector z = v.fma(log2e, shift);
            FloatVector m = z.sub(shift);
            if (m.abs().compare(VectorOperators.GT, Expf.SCALE_LIMIT).anyTrue()) {
                for (int j = i; j < i + L; j++) {
                    gate[j] = scalar(gate[j], up[j]);
                }
                continue;
            }
            FloatVector minusM = m.neg();
            FloatVector b = minusM.fma(ln2Lo, minusM.fma(ln2Hi, v));
            FloatVector k = z.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).add(0x3f800000).reinterpretAsFloats();
            FloatVector u = b.mul(b);
            FloatVector j = b.fma(Expf.C4, Expf.C3).fma(u, b.fma(Expf.C2, Expf.C1)).fma(u, b.mul(Expf.C0));
            FloatVector e = j.fma(k, k);
            x.div(e.add(1f)).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) {
            gate[i] = scalar(gate[i], up[i]);
        }
    }

    /** The scalar form, identical lane for lane. */
    private static float scalar(float g, float u) {
        return g / (1f + Expf.exp(-g)) * u;
    }
}
