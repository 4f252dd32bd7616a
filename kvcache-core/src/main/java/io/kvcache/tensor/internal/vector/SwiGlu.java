package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.L;

import jdk.incubator.vector.FloatVector;

/**
 * The gated feed-forward activation {@code gate[i] = silu(gate[i]) * up[i]} with
 * {@code silu(x) = x / (1 + expf(-x))} and llama.cpp's {@link io.kvcache.tensor.internal.Expf} computed lane-wise (its
 * {@code ggml_v_silu}): bit-identical to the scalar form, about 10x cheaper than {@code Math.exp}
 * per element. Thread-safe: the exponentials go to a per-thread scratch array.
 */
public final class SwiGlu {
    private SwiGlu() {
    }

    /** Per-thread {@code expf(-gate)}; grown on demand. */
    private static final ThreadLocal<float[]> EXP = ThreadLocal.withInitial(() -> new float[0]);

    /** {@code gate[i] = silu(gate[i]) * up[i]} for {@code i < n}. */
    public static void apply(float[] gate, float[] up, int n) {
        float[] e = EXP.get();
        if (e.length < n) {
            e = new float[n];
            EXP.set(e);
        }
        VectorExpf.exp(gate, 0, n, -1f, 0f, e, 0);
        int i = 0;
        for (; i + L <= n; i += L) {
            FloatVector.fromArray(F, gate, i).div(FloatVector.fromArray(F, e, i).add(1f))
                    .mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (; i < n; i++) {
            gate[i] = gate[i] / (1f + e[i]) * up[i]; // Expf.siluTimes, with the exponential above
        }
    }
}
