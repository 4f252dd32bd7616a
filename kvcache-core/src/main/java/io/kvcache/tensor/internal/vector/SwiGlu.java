package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.L;

import io.kvcache.tensor.internal.Expf;
import jdk.incubator.vector.FloatVector;

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
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector x = FloatVector.fromArray(F, gate, i);
            FloatVector minusX = x.neg();
            if (!VectorExpf.inRange(minusX)) {
                for (int j = i; j < i + L; j++) {
                    gate[j] = Expf.siluTimes(gate[j], up[j]);
                }
                continue;
            }
            x.div(VectorExpf.exp(minusX).add(1f)).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) {
            gate[i] = Expf.siluTimes(gate[i], up[i]);
        }
    }
}
