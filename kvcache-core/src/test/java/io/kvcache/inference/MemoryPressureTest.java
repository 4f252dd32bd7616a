package io.kvcache.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.KvCache;
import io.kvcache.testing.SharedModels;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Timeout;

/**
 * Under ADAPTIVE, eight concurrent generations on a budget that holds about three of them preempt
 * each other and recompute: every one completes, with exactly the tokens it produces alone.
 * (Regression: a retry after a mid-step preemption used to read back an already cleared sequence
 * and silently drop its history.)
 */
class MemoryPressureTest {
    private static final String[] PROMPTS = {"Once upon a time", "Lily wanted to", "The little dog", "Tom and his mom",
        "One day, a bird", "The sun was", "Sam had a red ball", "There was a big tree"};

    @RepeatedTest(3)
    @Timeout(120)
    void adaptivePreemptionKeepsEveryOutputExact() throws Exception {
        try (InferenceEngine engine = InferenceEngine.load(SharedModels.model("stories260K.gguf"), new EngineOptions(2))) {
            List<int[]> alone = new ArrayList<>();
            try (KvCache roomy = engine.createKvCache()) {
                Generator g = new Generator(engine, roomy);
                for (String p : PROMPTS) {
                    alone.add(g.generate(GenerationRequest.greedy(p, 100)).tokens());
                }
            }
            try (KvCache tight = engine.kvCacheBuilder().maxBlocks(21).strategy(CacheStrategy.ADAPTIVE).build()) {
                Generator g = new Generator(engine, tight);
                ExecutorService pool = Executors.newFixedThreadPool(PROMPTS.length);
                try {
                    List<Future<GenerationResult>> runs = new ArrayList<>();
                    for (String p : PROMPTS) {
                        runs.add(pool.submit(() -> g.generate(GenerationRequest.greedy(p, 100))));
                    }
                    for (int i = 0; i < PROMPTS.length; i++) {
                        GenerationResult r = runs.get(i).get(90, TimeUnit.SECONDS);
                        assertEquals(StopReason.MAX_TOKENS, r.stopReason(), PROMPTS[i]);
                        assertArrayEquals(alone.get(i), r.tokens(), PROMPTS[i]);
                    }
                } finally {
                    pool.shutdownNow();
                }
                assertTrue(tight.stats().preemptions() > 0, "the budget must actually force preemptions");
                assertEquals(0, tight.stats().sequences());
                tight.checkIntegrity();
            }
        }
    }
}
