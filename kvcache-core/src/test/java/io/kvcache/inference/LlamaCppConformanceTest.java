package io.kvcache.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.testing.ReferenceCase;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Logits of every prompt position (one batch) and of every greedy step (one token at a time
 * through the cache) against llama.cpp's reference outputs in {@code shared/reference}.
 */
class LlamaCppConformanceTest {

    /**
     * @param absTolerance every logit within this absolute distance
     * @param topOneMargin top-1 must agree on rows where the reference's two best logits differ by
     *     at least this much (0: on every row)
     * @param looseRows how many rows may exceed {@code absTolerance}, each still within
     *     {@code looseTolerance}
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "stories260K.bos,                             F32, 1e-4, 0, 0, 0",
            "stories260K.once-upon-a-time,                F32, 1e-4, 0, 0, 0",
            "stories260K.lily-ball,                       F32, 1e-4, 0, 0, 0",
            // F16 K/V: we round the query and the attention weights to F16 as llama.cpp's F16 products do
            // (rows agree to ~1e-4 until then), but a stored K/V value whose F32 value differs from
            // llama.cpp's by one ulp can round to the neighbouring F16 value and shift every later step
            // by up to ~1e-2. Matching 1e-3 needs ggml's summation order and SIMD expf bit for bit.
            "stories260K.once-upon-a-time.kv-f16,         F16, 2e-2, 0, 0, 0",
            "TinyStories-656K-F16.bos,                    F32, 2e-2, 0, 0, 0",
            "TinyStories-656K-F16.once-upon-a-time,       F32, 2e-2, 0, 0, 0",
            // Q8_0: activations are quantized to Q8_0 before the products, as llama.cpp does, so the
            // logits agree to ~2e-6. On one step of the 70 in the second case they differ by up to 0.09:
            // there an activation lies within float rounding of a quantization boundary, so one quant
            // rounds the other way (a one-step effect: the following steps agree to ~2e-6 again).
            "TinyStories-656K-Q8_0.bos,                   F32, 1e-4, 0, 0, 0",
            "TinyStories-656K-Q8_0.once-upon-a-time,      F32, 1e-4, 0, 1, 0.1",
    })
    void logitsMatchLlamaCpp(String caseName, KvElementType kvType, double absTolerance, double topOneMargin,
                             int looseRows, double looseTolerance) {
        ReferenceCase ref = ReferenceCase.load(caseName);
        try (InferenceEngine engine = InferenceEngine.load(ref.modelPath(), EngineOptions.defaults());
             KvCache cache = engine.createKvCache(512, kvType);
             KvSequence seq = cache.newSequence()) {
            assertEquals(ref.vocab(), engine.config().vocabularySize());
            int p = ref.promptTokens().length;
            float[] prompt = engine.forwardAll(seq, ref.promptTokens());
            List<String> failures = new ArrayList<>();
            List<String> loose = new ArrayList<>();
            for (int r = 0; r < p; r++) {
                float[] row = new float[ref.vocab()];
                System.arraycopy(prompt, r * ref.vocab(), row, 0, ref.vocab());
                compare(ref, r, row, absTolerance, looseTolerance, topOneMargin, loose, failures);
            }
            for (int s = 0; s < ref.greedyTokens().length; s++) {
                int token = ref.greedyTokens()[s];
                float[] row = engine.forward(seq, new int[] {token});
                compare(ref, p + s, row, absTolerance, looseTolerance, topOneMargin, loose, failures);
            }
            if (loose.size() > looseRows) {
                failures.addAll(loose);
            }
            if (!failures.isEmpty()) {
                fail(failures.size() + " rows differ, first: " + String.join("\n", failures.subList(0, Math.min(5, failures.size()))));
            }
            assertEquals(p + ref.greedyTokens().length, seq.length());
        }
    }

    /** Greedy decoding driven by our own argmax reproduces llama.cpp's tokens for all steps. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"stories260K.bos", "stories260K.once-upon-a-time", "stories260K.lily-ball"})
    void greedyTokensMatch(String caseName) {
        ReferenceCase ref = ReferenceCase.load(caseName);
        try (InferenceEngine engine = InferenceEngine.load(ref.modelPath());
             KvCache cache = engine.createKvCache(512, KvElementType.F32);
             KvSequence seq = cache.newSequence()) {
            float[] logits = engine.forward(seq, ref.promptTokens());
            int[] out = new int[ref.greedyTokens().length];
            for (int s = 0; s < out.length; s++) {
                out[s] = argmax(logits);
                logits = engine.forward(seq, new int[] {out[s]});
            }
            assertArrayEquals(ref.greedyTokens(), out);
        }
    }

    private static void compare(ReferenceCase ref, int r, float[] row, double tol, double looseTol, double margin,
                                List<String> loose, List<String> failures) {
        float[] expected = ref.row(r);
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - row[i]);
            if (!(d <= worst)) {
                worst = d;
                worstAt = i;
            }
        }
        if (!(worst <= tol)) {
            String message = "row " + r + ": max |diff| " + worst + " at token " + worstAt + " (expected "
                    + expected[worstAt] + ", got " + row[worstAt] + ")";
            (worst <= looseTol ? loose : failures).add(message);
        }
        int want = argmax(expected);
        if (argmax(row) != want && topTwoGap(expected) >= margin) {
            failures.add("row " + r + ": top-1 is " + argmax(row) + ", llama.cpp chose " + want);
        }
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    private static double topTwoGap(float[] v) {
        float a = Float.NEGATIVE_INFINITY;
        float b = Float.NEGATIVE_INFINITY;
        for (float x : v) {
            if (x > a) {
                b = a;
                a = x;
            } else if (x > b) {
                b = x;
            }
        }
        return a - b;
    }
}
