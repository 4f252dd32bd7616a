package io.kvcache.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.model.SyntheticModel;
import io.kvcache.testing.SharedModels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Concurrent generations share batched decode steps ({@link DecodeBatcher}) and get exactly what
 * they get alone; failures stay with their own sequence; nothing hangs.
 */
class BatchedDecodingTest {
    private static final int CONCURRENT = 8;
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

    private static byte[] synthetic(GgmlType type) {
        return SyntheticModel.builder().layers(2).embeddingLength(256).heads(8).kvHeads(4).feedForwardLength(512)
                .vocabularySize(1024).contextLength(512).weightType(type).seed(23).build();
    }

    /**
     * Engines with F32 activations: batched and unbatched products then agree to float rounding, so
     * greedy tokens are equal. With quantized activations (the default for Q8_0/Q4_0 weights) a
     * rounding difference can move an activation across a quantization step; see
     * {@link #quantizedBatchedLogitsTrackUnbatchedLogits}.
     */
    private static Supplier<InferenceEngine> engines(String model, int maxBatchSize) {
        EngineOptions options = new EngineOptions(2).withMaxBatchSize(maxBatchSize).withQuantizedActivations(false);
        return switch (model) {
            case "stories260K" -> () -> InferenceEngine.load(SharedModels.model("stories260K.gguf"), options);
            default -> () -> InferenceEngine.of(GgufFile.read(synthetic(GgmlType.valueOf(model))), options);
        };
    }

    private static GenerationRequest request(int i, int maxTokens) {
        String[] starts = {"Once upon a time", "The cat", "A little girl", "One day", "Tom and", "The sun",
                "She was", "He had", "In the park", "Lily"};
        return GenerationRequest.builder().prompt(starts[i % starts.length] + " " + i).maxTokens(maxTokens)
                .sampling(io.kvcache.sampling.SamplerSettings.greedy()).build();
    }

    /** Greedy generations run alone on an engine without batching: the reference. */
    private static List<int[]> sequentialTokens(Supplier<InferenceEngine> unbatched, int count, int maxTokens) {
        List<int[]> out = new ArrayList<>();
        try (InferenceEngine engine = unbatched.get(); KvCache cache = engine.kvCacheBuilder().maxSequences(1).build()) {
            Generator generator = new Generator(engine, cache);
            for (int i = 0; i < count; i++) {
                out.add(generator.generate(request(i, maxTokens)).tokens());
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"F32", "Q8_0", "stories260K"})
    void concurrentGenerationsGiveExactlyTheSequentialTokens(String model) {
        int maxTokens = 40;
        List<int[]> expected = sequentialTokens(engines(model, 1), CONCURRENT, maxTokens);
        assertTimeoutPreemptively(TIMEOUT, () -> {
            try (InferenceEngine engine = engines(model, CONCURRENT).get();
                 KvCache cache = engine.kvCacheBuilder().maxSequences(CONCURRENT).build();
                 ExecutorService threads = Executors.newFixedThreadPool(CONCURRENT)) {
                Generator generator = new Generator(engine, cache);
                CountDownLatch go = new CountDownLatch(1);
                List<Future<GenerationResult>> results = new ArrayList<>();
                for (int i = 0; i < CONCURRENT; i++) {
                    GenerationRequest r = request(i, maxTokens);
                    results.add(threads.submit(() -> {
                        go.await();
                        return generator.generate(r);
                    }));
                }
                go.countDown();
                for (int i = 0; i < CONCURRENT; i++) {
                    assertArrayEquals(expected.get(i), results.get(i).get().tokens(), "generation " + i);
                }
                DecodeBatcher.Stats stats = engine.batchStats();
                assertNotNull(stats);
                assertTrue(stats.largestStep() >= 2, "no step served two sequences: " + stats);
                assertTrue(stats.members() > stats.steps(), "steps were not shared: " + stats);
                cache.checkIntegrity();
            }
        });
    }

    /** Lock-step decoding from 8 threads: every step's logits equal the unbatched ones (1e-4 relative). */
    @Test
    void batchedLogitsEqualUnbatchedLogits() throws Exception {
        float[][][][] runs = lockStepLogits(new EngineOptions(2).withQuantizedActivations(false));
        for (int i = 0; i < CONCURRENT; i++) {
            for (int step = 0; step < runs[0][i].length; step++) {
                BatchedForwardTest.assertClose(runs[0][i][step], runs[1][i][step]);
            }
        }
    }

    /**
     * With activations quantized like llama.cpp (the default), batched steps round the same
     * activations as unbatched ones and agree to float rounding until a rounding difference moves an
     * activation across a quantization boundary; that sequence's later steps then differ by about
     * 1e-2 of the logit range (its stored K/V row differs). Every step stays within 3e-2.
     */
    @Test
    void quantizedBatchedLogitsTrackUnbatchedLogits() throws Exception {
        float[][][][] runs = lockStepLogits(new EngineOptions(2));
        for (int i = 0; i < CONCURRENT; i++) {
            for (int step = 0; step < runs[0][i].length; step++) {
                float[] expected = runs[0][i][step];
                float[] got = runs[1][i][step];
                double scale = 0;
                double worst = 0;
                for (int v = 0; v < expected.length; v++) {
                    scale = Math.max(scale, Math.abs(expected[v]));
                    worst = Math.max(worst, Math.abs(expected[v] - got[v]));
                }
                assertTrue(worst <= 3e-2 * scale, "generation " + i + " step " + step + ": " + worst / scale);
            }
        }
    }

    /**
     * Logits of 24 greedy steps of 8 sequences, {@code [0]} each alone (no batching), {@code [1]} in
     * lock step from 8 threads (batched), both on engines with {@code options}.
     */
    private float[][][][] lockStepLogits(EngineOptions options) throws Exception {
        int steps = 24;
        byte[] gguf = synthetic(GgmlType.Q8_0);
        float[][][] expected = new float[CONCURRENT][steps][];
        float[][][] batched = new float[CONCURRENT][][];
        try (InferenceEngine alone = InferenceEngine.of(GgufFile.read(gguf), options.withMaxBatchSize(1));
             KvCache cache = alone.createKvCache(256, KvElementType.F32)) {
            for (int i = 0; i < CONCURRENT; i++) {
                try (KvSequence s = cache.newSequence()) {
                    float[] logits = alone.forward(s, new int[] {1, 10 + i, 20 + 3 * i});
                    for (int step = 0; step < steps; step++) {
                        logits = alone.forward(s, new int[] {argmax(logits)});
                        expected[i][step] = logits;
                    }
                }
            }
        }
        assertTimeoutPreemptively(TIMEOUT, () -> {
            try (InferenceEngine engine = InferenceEngine.of(GgufFile.read(gguf), options);
                 KvCache cache = engine.createKvCache(256, KvElementType.F32);
                 ExecutorService threads = Executors.newFixedThreadPool(CONCURRENT)) {
                CyclicBarrier together = new CyclicBarrier(CONCURRENT);
                List<Future<float[][]>> results = new ArrayList<>();
                for (int i = 0; i < CONCURRENT; i++) {
                    int member = i;
                    results.add(threads.submit(() -> {
                        float[][] got = new float[steps][];
                        try (KvSequence s = cache.newSequence()) {
                            float[] logits = engine.forward(s, new int[] {1, 10 + member, 20 + 3 * member});
                            int[] token = new int[1];
                            for (int step = 0; step < steps; step++) {
                                together.await();
                                token[0] = argmax(logits);
                                logits = new float[logits.length];
                                engine.forward(s, token, logits);
                                got[step] = logits;
                            }
                        }
                        return got;
                    }));
                }
                for (int i = 0; i < CONCURRENT; i++) {
                    batched[i] = results.get(i).get();
                }
                DecodeBatcher.Stats stats = engine.batchStats();
                assertTrue(stats.largestStep() >= 2, "the lock-step threads never shared a step: " + stats);
            }
        });
        return new float[][][][] {expected, batched};
    }

    /** A member that fails in a step (bad token) gets its exception; the others in that step go on. */
    @Test
    void aFailingSequenceDoesNotFailTheOthers() {
        assertTimeoutPreemptively(TIMEOUT, () -> {
            byte[] gguf = synthetic(GgmlType.F32);
            try (InferenceEngine engine = InferenceEngine.of(GgufFile.read(gguf), new EngineOptions(2));
                 KvCache cache = engine.createKvCache(256, KvElementType.F32);
                 ExecutorService threads = Executors.newFixedThreadPool(4)) {
                int vocab = engine.config().vocabularySize();
                CyclicBarrier together = new CyclicBarrier(4);
                List<Future<Integer>> results = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    int member = i;
                    results.add(threads.submit(() -> {
                        int failures = 0;
                        try (KvSequence s = cache.newSequence()) {
                            float[] logits = engine.forward(s, new int[] {1, 5 + member});
                            for (int step = 0; step < 30; step++) {
                                together.await();
                                boolean bad = member == 0 && step % 3 == 0;
                                int before = s.length();
                                try {
                                    engine.forward(s, new int[] {bad ? vocab + step : argmax(logits)}, logits);
                                    assertEquals(before + 1, s.length());
                                } catch (IllegalArgumentException e) {
                                    assertTrue(bad, "unexpected failure: " + e);
                                    assertTrue(e.getMessage().contains("outside the vocabulary"), e.getMessage());
                                    assertEquals(before, s.length());
                                    failures++;
                                }
                            }
                        }
                        return failures;
                    }));
                }
                assertEquals(10, results.get(0).get());
                for (int i = 1; i < 4; i++) {
                    assertEquals(0, results.get(i).get());
                }
                cache.checkIntegrity();
            }
        });
    }

    /**
     * Closing the engine while a step runs: callers waiting for a later step are woken with an
     * exception at once; the running step's members get a result or an exception, never a hang.
     */
    @Test
    void closingTheEngineWakesWaitingCallers() {
        assertTimeoutPreemptively(TIMEOUT, () -> {
            byte[] gguf = synthetic(GgmlType.F32);
            InferenceEngine engine = InferenceEngine.of(GgufFile.read(gguf), new EngineOptions(2).withMaxBatchSize(2));
            try (KvCache cache = engine.createKvCache(256, KvElementType.F32);
                 ExecutorService threads = Executors.newCachedThreadPool()) {
                HookedSequence blocking = new HookedSequence(cache.newSequence());
                engine.forward(blocking, new int[] {1, 2, 3});
                CountDownLatch inStep = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                blocking.beforeReserve = layer -> {
                    inStep.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                };
                Future<?> leader = threads.submit(() -> engine.forward(blocking, new int[] {4}));
                assertTrue(inStep.await(30, TimeUnit.SECONDS), "the step did not start");
                List<Future<?>> waiters = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    KvSequence s = cache.newSequence();
                    engine.forward(s, new int[] {1, 7 + i}); // prompts run outside the batcher
                    waiters.add(threads.submit(() -> engine.forward(s, new int[] {9})));
                }
                while (engine.batchQueueLength() < 3) {
                    Thread.onSpinWait();
                }
                engine.close();
                for (Future<?> w : waiters) {
                    Throwable cause = failureOf(w);
                    assertInstanceOf(IllegalStateException.class, cause);
                    assertTrue(cause.getMessage().contains("closed"), cause.getMessage());
                }
                release.countDown();
                Throwable leaderOutcome = failureOf(leader);
                // The leader's step ran on a closed pool: a clean exception or a result, not a hang.
                assertTrue(leaderOutcome == null || leaderOutcome instanceof IllegalStateException,
                        "unexpected: " + leaderOutcome);
                assertThrows(IllegalStateException.class, () -> engine.forward(blocking, new int[] {5}));
            } finally {
                engine.close();
            }
        });
    }

    private static Throwable failureOf(Future<?> f) throws InterruptedException {
        try {
            f.get();
            return null;
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
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
}
