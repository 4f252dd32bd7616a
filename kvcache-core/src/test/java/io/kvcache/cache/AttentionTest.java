package io.kvcache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Cached attention against a naive double-precision reference over the original (unquantized) K/V.
 *
 * <p>F32 storage: every output element within {@code 1e-5 * max|ref|} of its head. F16/Q8_0: within
 * the worst-case bound derived in {@link #quantizedBound} (the V element error plus the effect of the
 * worst score perturbation {@code delta = sum_j |q_j| * eK_j / sqrt(d)} on the softmax weights,
 * {@code (exp(2*delta) - 1) * max|V|}) and, for these random inputs, within the empirical bounds
 * {@code 1e-3 * max|V|} (F16, observed 2.5e-4) and {@code 1e-2 * max|V|} (Q8_0, observed 4e-3).
 */
class AttentionTest {
    private static final int LAYERS = 2;
    private static final int KV_HEADS = 2;
    private static final int CONTEXT = 2048;

    static Stream<Arguments> shapes() {
        List<Arguments> cases = new ArrayList<>();
        for (int headDim : new int[] {32, 64, 128}) {
            for (int ratio : new int[] {1, 2, 4, 8}) {
                cases.add(Arguments.of(headDim, ratio));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "F32 headDim={0} gqa={1}")
    @MethodSource("shapes")
    void f32AttentionMatchesDoubleReference(int headDim, int ratio) {
        check(KvElementType.F32, headDim, ratio, new int[] {1, 2, 15, 16, 17, 100, 2048});
    }

    @ParameterizedTest(name = "F16 headDim={0} gqa={1}")
    @MethodSource("shapes")
    void f16AttentionWithinBound(int headDim, int ratio) {
        check(KvElementType.F16, headDim, ratio, new int[] {1, 17, 100, 2048});
    }

    @ParameterizedTest(name = "Q8_0 headDim={0} gqa={1}")
    @MethodSource("shapes")
    void q8AttentionWithinBound(int headDim, int ratio) {
        check(KvElementType.Q8_0, headDim, ratio, new int[] {1, 17, 100, 2048});
    }

    private void check(KvElementType type, int headDim, int ratio, int[] lengths) {
        long seed = 1000L * headDim + ratio + type.ordinal() * 7L;
        SplittableRandom random = new SplittableRandom(seed);
        int queryHeads = KV_HEADS * ratio;
        KvCacheSpec spec = KvCacheSpec.builder().layers(LAYERS).kvHeads(KV_HEADS).headDim(headDim)
                .contextLength(CONTEXT).elementType(type).build();
        int kvDim = spec.kvDim();
        float[][][] keys = new float[LAYERS][CONTEXT][kvDim];
        float[][][] values = new float[LAYERS][CONTEXT][kvDim];
        try (KvCache cache = KvCache.builder(spec).maxSequences(1).build();
             KvSequence sequence = cache.newSequence()) {
            sequence.reserve(CONTEXT);
            for (int p = 0; p < CONTEXT; p++) {
                for (int layer = 0; layer < LAYERS; layer++) {
                    fill(random, keys[layer][p], 1.0f);
                    fill(random, values[layer][p], 1.0f);
                    sequence.store(layer, p, keys[layer][p], 0, values[layer][p], 0);
                }
            }
            sequence.advance(CONTEXT);
            float[] q = new float[queryHeads * headDim + 3];
            float[] out = new float[queryHeads * headDim + 5];
            // Per-head scratch, scratch for whole GQA groups, and one in between (groups split in passes).
            float[][] scratches = {
                new float[sequence.attentionScratchSize()],
                new float[sequence.attentionScratchSize(queryHeads)],
                new float[sequence.attentionScratchSize() + (ratio / 2) * CONTEXT + 1]};
            int variant = 0;
            for (int length : lengths) {
                int position = length - 1;
                int layer = length % LAYERS;
                // Larger queries make sharper softmax distributions, which stress the max subtraction.
                fill(random, q, 3.0f);
                float[] scratch = scratches[variant++ % scratches.length];
                // Two calls over head ranges that split a group, as parallel workers would.
                int split = queryHeads / 2 + (queryHeads > 2 ? 1 : 0);
                sequence.attention(layer, position, queryHeads, q, 3, out, 5, 0, split, scratch);
                sequence.attention(layer, position, queryHeads, q, 3, out, 5, split, queryHeads, scratch);
                for (int h = 0; h < queryHeads; h++) {
                    int kvHead = h / ratio;
                    double[] ref = reference(keys[layer], values[layer], position, q, 3 + h * headDim,
                            kvHead * headDim, headDim);
                    // V elements are in [-1, 1], so max|V| <= 1 in the empirical bounds.
                    double tolerance = switch (type) {
                        case F32 -> 1e-5 * maxAbs(ref);
                        case F16 -> Math.min(1e-3, quantizedBound(type, keys[layer], values[layer], position, q,
                                3 + h * headDim, kvHead * headDim, headDim));
                        case Q8_0 -> Math.min(1e-2, quantizedBound(type, keys[layer], values[layer], position, q,
                                3 + h * headDim, kvHead * headDim, headDim));
                    };
                    for (int i = 0; i < headDim; i++) {
                        double error = Math.abs(out[5 + h * headDim + i] - ref[i]);
                        if (!(error <= tolerance)) {
                            throw new AssertionError(type + " headDim=" + headDim + " gqa=" + ratio + " length="
                                    + length + " head=" + h + " i=" + i + ": got " + out[5 + h * headDim + i]
                                    + ", expected " + ref[i] + " (error " + error + " > " + tolerance + ", seed "
                                    + seed + ")");
                        }
                    }
                }
            }
        }
    }

    private static void fill(SplittableRandom random, float[] a, float scale) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (random.nextDouble(-1, 1) * scale);
        }
    }

    static double[] reference(float[][] keys, float[][] values, int position, float[] q, int qo, int ko, int d) {
        double[] scores = new double[position + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int p = 0; p <= position; p++) {
            double dot = 0;
            for (int i = 0; i < d; i++) {
                dot += (double) q[qo + i] * keys[p][ko + i];
            }
            scores[p] = dot / Math.sqrt(d);
            max = Math.max(max, scores[p]);
        }
        double sum = 0;
        for (int p = 0; p <= position; p++) {
            scores[p] = Math.exp(scores[p] - max);
            sum += scores[p];
        }
        double[] out = new double[d];
        for (int p = 0; p <= position; p++) {
            for (int i = 0; i < d; i++) {
                out[i] += scores[p] / sum * values[p][ko + i];
            }
        }
        return out;
    }

    private static double maxAbs(double[] a) {
        double max = 0;
        for (double x : a) {
            max = Math.max(max, Math.abs(x));
        }
        return max;
    }

    /** The per-head error bound for quantized storage (see the class comment). */
    static double quantizedBound(KvElementType type, float[][] keys, float[][] values, int position, float[] q,
                                 int qo, int ko, int d) {
        double delta = 0;
        double vError = 0;
        double vMax = 0;
        for (int p = 0; p <= position; p++) {
            double pointDelta = 0;
            for (int i = 0; i < d; i++) {
                pointDelta += Math.abs(q[qo + i]) * elementBound(type, keys[p], ko, i);
                vError = Math.max(vError, elementBound(type, values[p], ko, i));
                vMax = Math.max(vMax, Math.abs(values[p][ko + i]));
            }
            delta = Math.max(delta, pointDelta / Math.sqrt(d));
        }
        // The float accumulation adds the F32 error on top (tiny next to these terms).
        return vError + Math.expm1(2 * delta) * vMax + 1e-5 * vMax;
    }

    /** Documented per-element error bound of a stored value (see {@link KvElementType}). */
    static double elementBound(KvElementType type, float[] row, int headOffset, int i) {
        float x = row[headOffset + i];
        return switch (type) {
            case F32 -> 0;
            case F16 -> Math.max(Math.abs(x) * 0x1p-11, 0x1p-25);
            case Q8_0 -> {
                int group = headOffset + (i / 32) * 32;
                double amax = 0;
                for (int j = group; j < group + 32; j++) {
                    amax = Math.max(amax, Math.abs(row[j]));
                }
                yield amax / 254 * (1 + 0x1p-10) + 0x1p-25;
            }
        };
    }

    @Test
    void rejectsMismatchedHeadsAndSmallScratch() {
        KvCacheSpec spec = KvCacheSpec.builder().layers(1).kvHeads(2).headDim(4).contextLength(8).build();
        try (KvCache cache = KvCache.builder(spec).build(); KvSequence sequence = cache.newSequence()) {
            sequence.reserve(1);
            sequence.store(0, 0, new float[8], 0, new float[8], 0);
            float[] q = new float[12];
            float[] out = new float[12];
            IllegalArgumentException heads = assertThrows(IllegalArgumentException.class,
                    () -> sequence.attention(0, 0, 3, q, out));
            assertTrue(heads.getMessage().contains("multiple"), heads.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> sequence.attention(0, 0, 2, q, 0, out, 0, 0, 2, new float[3]));
            assertThrows(IllegalStateException.class, () -> sequence.attention(0, 1, 2, q, out));
            assertEquals(8 + 4, sequence.attentionScratchSize());
        }
    }
}
