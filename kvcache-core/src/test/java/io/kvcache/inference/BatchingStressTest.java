package io.kvcache.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.KvCache;
import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.model.SyntheticModel;
import io.kvcache.sampling.SamplerSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Many threads generating at once through the batcher, some consumers walking away early (stream
 * closed, callback throwing) at random points: every generation that runs to the end gets its
 * reference tokens, every early one a prefix of them; nothing deadlocks and the cache stays whole.
 */
class BatchingStressTest {
    private static final int PROMPTS = 6;
    private static final int MAX_TOKENS = 24;
    private static final int THREADS = 12;
    private static final int ROUNDS = 20;

    private static final byte[] MODEL = SyntheticModel.builder().layers(2).embeddingLength(128).heads(4).kvHeads(2)
            .feedForwardLength(256).vocabularySize(512).contextLength(256).weightType(GgmlType.Q8_0).seed(41).build();

    /**
     * F32 activations: batched steps then give exactly the unbatched tokens, which is what lets the
     * stress tests spot a mixed-up token (quantized activations may differ by a quantization step).
     */
    private static final EngineOptions OPTIONS = new EngineOptions(2).withQuantizedActivations(false);

    private static GenerationRequest request(int prompt) {
        return GenerationRequest.builder().prompt("the and a " + prompt + " was he").maxTokens(MAX_TOKENS)
                .sampling(SamplerSettings.greedy()).build();
    }

    private static int[][] references() {
        int[][] out = new int[PROMPTS][];
        try (InferenceEngine engine = InferenceEngine.of(GgufFile.read(MODEL), OPTIONS.withMaxBatchSize(1));
             KvCache cache = engine.kvCacheBuilder().maxSequences(1).prefixCaching(false).build()) {
            Generator generator = new Generator(engine, cache);
            for (int p = 0; p < PROMPTS; p++) {
                out[p] = generator.generate(request(p)).tokens();
            }
        }
        return out;
    }

    @Test
    void manyThreadsWithRandomEarlyExitsNeitherDeadlockNorMixUpTokens() {
        int[][] reference = references();
        assertTimeoutPreemptively(Duration.ofSeconds(180), () -> {
            try (InferenceEngine engine = InferenceEngine.of(GgufFile.read(MODEL), OPTIONS.withMaxBatchSize(4));
                 KvCache cache = engine.kvCacheBuilder().maxSequences(THREADS).prefixCaching(false).build();
                 ExecutorService threads = Executors.newFixedThreadPool(THREADS)) {
                Generator generator = new Generator(engine, cache);
                List<Future<int[]>> outcomes = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    SplittableRandom random = new SplittableRandom(t);
                    outcomes.add(threads.submit(() -> {
                        int[] counts = new int[3];
                        for (int round = 0; round < ROUNDS; round++) {
                            int p = random.nextInt(PROMPTS);
                            int stopAfter = random.nextInt(1, MAX_TOKENS);
                            int mode = random.nextInt(3);
                            counts[mode]++;
                            switch (mode) {
                                case 0 -> assertArrayEquals(reference[p], generator.generate(request(p)).tokens());
                                case 1 -> {
                                    int[] got;
                                    try (Stream<GenerationEvent> events = generator.stream(request(p))) {
                                        got = events.filter(TokenEvent.class::isInstance).limit(stopAfter)
                                                .mapToInt(e -> ((TokenEvent) e).tokenId()).toArray();
                                    }
                                    assertArrayEquals(Arrays.copyOf(reference[p], got.length), got);
                                }
                                default -> {
                                    List<Integer> got = new ArrayList<>();
                                    try {
                                        generator.generate(request(p), e -> {
                                            got.add(e.tokenId());
                                            if (got.size() == stopAfter) {
                                                throw new WalkedAway();
                                            }
                                        });
                                    } catch (WalkedAway expected) {
                                        // the consumer left: the generation was abandoned
                                    }
                                    for (int i = 0; i < got.size(); i++) {
                                        assertEquals(reference[p][i], got.get(i), "token " + i);
                                    }
                                }
                            }
                        }
                        return counts;
                    }));
                }
                for (Future<int[]> f : outcomes) {
                    f.get();
                }
                assertEquals(0, engine.batchQueueLength());
                assertTrue(engine.batchStats().largestStep() >= 2, "no step was shared: " + engine.batchStats());
                assertTrue(cache.sequences().isEmpty(), "generations left sequences open: " + cache.sequences());
                cache.checkIntegrity();
            }
        });
    }

    /**
     * ADAPTIVE with room for fewer sequences than threads: steps preempt idle members and recompute
     * them, some wait for memory; all finish (no deadlock) with their reference tokens, the cache stays whole.
     */
    @Test
    void adaptiveMemoryPressureUnderBatchingFinishes() {
        int[][] reference = references();
        assertTimeoutPreemptively(Duration.ofSeconds(180), () -> {
            try (InferenceEngine engine = InferenceEngine.of(GgufFile.read(MODEL), OPTIONS.withMaxBatchSize(8));
                 KvCache cache = engine.kvCacheBuilder().maxSequences(THREADS).strategy(CacheStrategy.ADAPTIVE)
                         .maxBlocks(THREADS + 4).prefixCaching(false).build();
                 ExecutorService threads = Executors.newFixedThreadPool(THREADS)) {
                Generator generator = new Generator(engine, cache);
                List<Future<GenerationResult>> results = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int p = t % PROMPTS;
                    results.add(threads.submit(() -> generator.generate(request(p))));
                }
                for (int t = 0; t < THREADS; t++) {
                    assertArrayEquals(reference[t % PROMPTS], results.get(t).get().tokens(), "generation " + t);
                }
                assertTrue(cache.stats().preemptions() > 0, "the budget must actually force preemptions");
                assertTrue(cache.sequences().isEmpty());
                cache.checkIntegrity();
            }
        });
    }

    private static final class WalkedAway extends RuntimeException {
        WalkedAway() {
            super("consumer walked away", null, false, false);
        }
    }
}
