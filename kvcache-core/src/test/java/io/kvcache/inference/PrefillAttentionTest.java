package io.kvcache.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.model.LlamaModel;
import io.kvcache.model.LlamaWeights;
import io.kvcache.model.ModelConfig;
import io.kvcache.model.SyntheticModel;
import io.kvcache.tensor.ComputePool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A prompt through {@link LlamaModel} attends with the multi-position {@link KvSequence#attention}
 * (each K/V block read once per chunk of positions), and its logits are bit-identical to the same
 * prompt run with one attention call per position (a sequence that only has the interface's default,
 * per-position implementation), for every K/V type, grouped-query heads, a sliding window with
 * sinks, and prompts of several chunks. A failure in multi-position attention fails the pass and
 * leaves the sequence as it was.
 */
class PrefillAttentionTest {
    private static final int VOCAB = 512;
    private static final int CONTEXT = 192;

    private GgufFile file;
    private ComputePool pool;
    private LlamaModel model;

    @BeforeEach
    void setUp() {
        // 8 query heads over 2 KV heads (groups of 4), headDim 32.
        file = GgufFile.read(SyntheticModel.builder().layers(3).embeddingLength(256).heads(8).kvHeads(2)
                .feedForwardLength(384).vocabularySize(VOCAB).contextLength(CONTEXT).weightType(GgmlType.Q8_0)
                .seed(17).build());
        ModelConfig config = ModelConfig.from(file);
        pool = ComputePool.create(2);
        model = new LlamaModel(config, LlamaWeights.load(file, config), pool);
    }

    @AfterEach
    void tearDown() {
        pool.close();
        file.close();
    }

    static Stream<Arguments> caches() {
        return Stream.of(
                Arguments.of(KvElementType.F16, 0, 0, 150),
                Arguments.of(KvElementType.F32, 0, 0, 150),
                Arguments.of(KvElementType.Q8_0, 0, 0, 150),
                Arguments.of(KvElementType.F16, 0, 0, 5),
                Arguments.of(KvElementType.F16, 40, 4, 170),
                Arguments.of(KvElementType.Q8_0, 23, 0, 100));
    }

    @ParameterizedTest(name = "{0} window={1} sinks={2} prompt={3}")
    @MethodSource("caches")
    void promptLogitsAreBitIdenticalToPerPositionAttention(KvElementType type, int window, int sinks, int length) {
        KvCacheSpec spec = KvCacheSpec.builder().layers(3).kvHeads(2).headDim(32).contextLength(CONTEXT)
                .elementType(type).build();
        KvCache.Builder builder = KvCache.builder(spec).maxSequences(4).prefixCaching(false);
        if (window > 0) {
            builder.slidingWindow(window, sinks);
        }
        int[] prompt = prompt(length);
        try (KvCache cache = builder.build()) {
            // The matrix kernels may round differently before and after the JIT compiles them, so the
            // per-position runs before and after the multi-position one must agree for a fair comparison.
            for (int attempt = 1; ; attempt++) {
                float[][] before = session(cache, prompt, false);
                float[][] multi = session(cache, prompt, true);
                float[][] after = session(cache, prompt, false);
                if (bitIdentical(before, after)) {
                    for (int i = 0; i < before.length; i++) {
                        assertBitIdentical(before[i], multi[i], new String[] {"prompt", "next step", "continued"}[i]
                                + " logits");
                    }
                    break;
                }
                assertTrue(attempt < 5, "per-position runs kept giving different logits: the model is not deterministic");
            }
        }
    }

    /**
     * Prompt logits (all positions), the next step's logits and the logits of 9 more prompt tokens, with
     * multi-position attention (checked in every call against per-position calls, see
     * {@link CheckedSequence}) or with the per-position default.
     */
    private float[][] session(KvCache cache, int[] prompt, boolean multiPosition) {
        try (KvSequence sequence = multiPosition ? new CheckedSequence(cache.newSequence())
                : new ForwardingSequence(cache.newSequence())) {
            float[] logits = model.forward(sequence, prompt, true);
            float[] next = model.forward(sequence, new int[] {11}, false);
            float[] continued = model.forward(sequence, prompt(9), true);
            // Prompts: one call per (layer, position, item's head slice); with 2 threads the groups of 4
            // heads are halved into 4 slices so that each thread gets 2 whole slices. The decode step
            // makes at most one call per (layer, head).
            int promptCalls = 3 * (prompt.length + 9) * 4;
            int calls = ((ForwardingSequence) sequence).singlePositionCalls.get();
            if (sequence instanceof CheckedSequence checked) {
                assertEquals(promptCalls, checked.checkCalls.get());
                assertTrue(checked.runCalls.get() >= 3 * 4 * 2 && calls <= 3 * 8, checked.runCalls + " runs, " + calls);
            } else {
                assertTrue(calls >= promptCalls && calls <= promptCalls + 3 * 8, calls + " calls");
            }
            return new float[][] {logits, next, continued};
        }
    }

    /**
     * Runs multi-position attention on the real sequence, then the same positions one call at a time
     * into a copy, and fails unless every output it wrote is bit-identical (attention's own kernels
     * are deterministic, whatever the JIT has compiled).
     */
    private static final class CheckedSequence extends ForwardingSequence {
        /** Counted from both pool threads: atomic, as a volatile {@code ++} loses updates. */
        final AtomicInteger runCalls = new AtomicInteger();
        final AtomicInteger checkCalls = new AtomicInteger();

        CheckedSequence(KvSequence inner) {
            super(inner);
        }

        @Override
        public void attention(int layer, int firstPosition, int count, int queryHeads, float[] q, int qOff,
                              int qStride, float[] out, int outOff, int outStride, int headFrom, int headTo,
                              float[] scratch) {
            runCalls.incrementAndGet();
            inner.attention(layer, firstPosition, count, queryHeads, q, qOff, qStride, out, outOff, outStride,
                    headFrom, headTo, scratch);
            int headDim = spec().headDim();
            float[] single = new float[out.length];
            for (int i = 0; i < count; i++) {
                checkCalls.incrementAndGet();
                inner.attention(layer, firstPosition + i, queryHeads, q, qOff + i * qStride, single,
                        outOff + i * outStride, headFrom, headTo, new float[inner.attentionScratchSize()]);
                int from = outOff + i * outStride + headFrom * headDim;
                for (int e = from; e < from + (headTo - headFrom) * headDim; e++) {
                    if (Float.floatToRawIntBits(single[e]) != Float.floatToRawIntBits(out[e])) {
                        throw new AssertionError("layer " + layer + " position " + (firstPosition + i) + " heads ["
                                + headFrom + ", " + headTo + "): multi-position attention gives " + out[e]
                                + ", a single-position call " + single[e]);
                    }
                }
            }
        }
    }

    private static boolean bitIdentical(float[][] a, float[][] b) {
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) {
                if (Float.floatToRawIntBits(a[i][j]) != Float.floatToRawIntBits(b[i][j])) {
                    return false;
                }
            }
        }
        return true;
    }

    @Test
    void aFailingMultiPositionAttentionFailsThePassAndLeavesTheSequenceUnchanged() {
        KvCacheSpec spec = KvCacheSpec.builder().layers(3).kvHeads(2).headDim(32).contextLength(CONTEXT)
                .elementType(KvElementType.F16).build();
        IllegalStateException boom = new IllegalStateException("attention failed on purpose");
        try (KvCache cache = KvCache.builder(spec).maxSequences(2).prefixCaching(false).build();
             ForwardingSequence failing = new ForwardingSequence(cache.newSequence()) {
                 @Override
                 public void attention(int layer, int firstPosition, int count, int queryHeads, float[] q, int qOff,
                                       int qStride, float[] out, int outOff, int outStride, int headFrom, int headTo,
                                       float[] scratch) {
                     if (layer == 1 && firstPosition > 0) {
                         throw boom;
                     }
                     inner.attention(layer, firstPosition, count, queryHeads, q, qOff, qStride, out, outOff,
                             outStride, headFrom, headTo, scratch);
                 }
             }) {
            model.forward(failing, prompt(3), false);
            int[] prompt = prompt(70);
            RuntimeException thrown = assertThrows(RuntimeException.class, () -> model.forward(failing, prompt, true));
            assertSame(boom, thrown);
            assertEquals(3, failing.length(), "a failed pass does not advance the sequence");
            assertEquals(0, failing.singlePositionCalls.get(), "the prompt went through multi-position attention");
            // The sequence stays usable: a one-position step takes the single-position path.
            float[] logits = model.forward(failing, new int[] {5}, false);
            assertEquals(4, failing.length());
            assertTrue(failing.singlePositionCalls.get() > 0);
            assertTrue(Float.isFinite(logits[0]));
        }
    }

    private static int[] prompt(int length) {
        int[] tokens = new int[length];
        for (int i = 0; i < length; i++) {
            tokens[i] = (i * 37 + 11) % VOCAB;
        }
        return tokens;
    }

    private static void assertBitIdentical(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(what + ": logit " + i + " is " + actual[i] + " with multi-position attention,"
                        + " " + expected[i] + " with one call per position");
            }
        }
    }
}
