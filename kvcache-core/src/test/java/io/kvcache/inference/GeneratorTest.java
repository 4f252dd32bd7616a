package io.kvcache.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.ContextLengthExceededException;
import io.kvcache.cache.KvCache;
import io.kvcache.sampling.SamplerSettings;
import io.kvcache.testing.ReferenceCase;
import io.kvcache.testing.SharedModels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GeneratorTest {
    private static InferenceEngine engine;
    private static KvCache cache;
    private static Generator generator;

    @BeforeAll
    static void load() {
        engine = InferenceEngine.load(SharedModels.model("stories260K.gguf"), new EngineOptions(2));
        cache = engine.kvCacheBuilder().maxSequences(16).build();
        generator = new Generator(engine, cache);
    }

    @AfterAll
    static void close() {
        if (cache != null) {
            cache.close();
        }
        if (engine != null) {
            engine.close();
        }
    }

    @Test
    void greedyFromBosReproducesLlamaCppText() {
        ReferenceCase ref = ReferenceCase.load("stories260K.bos");
        GenerationResult r = generator.generate(GenerationRequest.greedy("", ref.greedyTokens().length));
        assertArrayEquals(ref.greedyTokens(), r.tokens());
        assertEquals(ref.greedyText(), r.text());
        assertEquals(StopReason.MAX_TOKENS, r.stopReason());
        assertEquals(1, r.usage().promptTokens());
        assertEquals(200, r.usage().completionTokens());
    }

    @Test
    void promptTokensAndGreedyContinuationMatchReference() {
        ReferenceCase ref = ReferenceCase.load("stories260K.once-upon-a-time");
        GenerationResult r = generator.generate(GenerationRequest.greedy(ref.prompt(), ref.greedyTokens().length));
        assertEquals(ref.promptTokens().length, r.usage().promptTokens());
        assertArrayEquals(ref.greedyTokens(), r.tokens());
        assertEquals(ref.greedyText(), r.text());
    }

    @Test
    void callbackAndStreamDeliverTheSameTokensAsTheResult() {
        GenerationRequest req = GenerationRequest.greedy("Lily wanted", 20);
        StringBuilder text = new StringBuilder();
        List<Integer> ids = new ArrayList<>();
        GenerationResult r = generator.generate(req, t -> {
            text.append(t.text());
            ids.add(t.tokenId());
        });
        assertEquals(r.text(), text.toString());
        assertArrayEquals(r.tokens(), ids.stream().mapToInt(Integer::intValue).toArray());
        try (Stream<GenerationEvent> events = generator.stream(req)) {
            List<GenerationEvent> all = events.toList();
            assertEquals(21, all.size());
            assertEquals(r.text(), ((GenerationResult) all.get(20)).text());
        }
    }

    @Test
    void stopStringSplitAcrossTokensEndsGenerationAndIsNotEmitted() {
        // The greedy text from BOS contains "girl named Lily", produced as several tokens.
        GenerationResult r = generator.generate(GenerationRequest.builder().prompt("").maxTokens(100)
                .sampling(SamplerSettings.greedy()).stop("named Li").build());
        assertEquals(StopReason.STOP_STRING, r.stopReason());
        assertEquals(" Once upon a time, there was a little girl ", r.text());
    }

    @Test
    void closingAStreamEarlyFreesTheSequence() {
        int before = cache.stats().sequences();
        try (Stream<GenerationEvent> events = generator.stream(GenerationRequest.greedy("Once", 50))) {
            assertEquals(3, events.limit(3).count());
        }
        assertEquals(before, cache.stats().sequences());
    }

    @Test
    void concurrentGreedyGenerationsEqualSequentialOnes() throws Exception {
        String[] prompts = {"Once upon a time", "Lily wanted to play", "The dog", "One day", "Tom and Sue",
            "The sun was", "A little bird", "She saw a big"};
        List<GenerationResult> sequential = new ArrayList<>();
        for (String p : prompts) {
            sequential.add(generator.generate(GenerationRequest.greedy(p, 40)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<GenerationResult>> futures = new ArrayList<>();
            for (String p : prompts) {
                futures.add(pool.submit(() -> generator.generate(GenerationRequest.greedy(p, 40))));
            }
            for (int i = 0; i < prompts.length; i++) {
                GenerationResult c = futures.get(i).get();
                assertArrayEquals(sequential.get(i).tokens(), c.tokens(), prompts[i]);
                assertEquals(sequential.get(i).text(), c.text());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void secondTurnOfASessionIsServedFromTheCache() {
        try (Session session = generator.newSession()) {
            GenerationResult first = session.generate(GenerationRequest.greedy("Once upon a time", 10));
            int firstTurnTokens = first.usage().promptTokens() + first.usage().completionTokens();
            GenerationResult second = session.generate(GenerationRequest.greedy(" Then she", 10));
            assertEquals(firstTurnTokens - 1, second.usage().cachedPromptTokens(),
                    "every first-turn token but the last generated one (never fed back) is cached");
            assertTrue(second.usage().promptTokens() > firstTurnTokens);
        }
    }

    @Test
    void samePromptTwiceHitsThePrefixCache() {
        String prompt = "Once upon a time there was a little girl named Lily who loved to play in the park with her friends";
        generator.generate(GenerationRequest.greedy(prompt, 2));
        GenerationResult again = generator.generate(GenerationRequest.greedy(prompt, 2));
        int blocks = cache.spec().blockSize();
        assertTrue(again.usage().cachedPromptTokens() >= blocks, "cached: " + again.usage().cachedPromptTokens());
        assertEquals(0, again.usage().cachedPromptTokens() % blocks);
    }

    @Test
    void promptLongerThanTheContextIsRefusedBeforeAnyWork() {
        try (KvCache small = engine.kvCacheBuilder().build()) {
            Generator g = new Generator(engine, small);
            String longPrompt = "Once upon a time ".repeat(1000);
            ContextLengthExceededException e = assertThrows(ContextLengthExceededException.class,
                    () -> g.generate(GenerationRequest.greedy(longPrompt, 5)));
            assertTrue(e.getMessage().contains("shorten the prompt"), e.getMessage());
            assertEquals(0, small.stats().sequences());
        }
    }

    @Test
    void contextFullStopsGeneration() {
        try (KvCache small = KvCache.builder(engine.kvCacheSpec(32, io.kvcache.cache.KvElementType.F32)).build()) {
            GenerationResult r = new Generator(engine, small).generate(GenerationRequest.greedy("Once upon a time", 100));
            assertEquals(StopReason.CONTEXT_FULL, r.stopReason());
            assertEquals(33, r.usage().promptTokens() + r.usage().completionTokens(),
                    "the 32 positions hold the prompt and every generated token but the last");
        }
    }

    @Test
    void tinyStoriesStopsByItselfFromBos() {
        try (InferenceEngine q8 = InferenceEngine.load(SharedModels.model("TinyStories-656K-Q8_0.gguf"), new EngineOptions(2));
             KvCache c = q8.createKvCache()) {
            // The model often spells its end marker as sub-tokens, so the marker is also a stop string.
            GenerationResult r = new Generator(q8, c).generate(GenerationRequest.builder().prompt("").maxTokens(400)
                    .sampling(SamplerSettings.greedy()).stop("<|end_story|>").build());
            assertTrue(r.stopReason() == StopReason.STOP_STRING || r.stopReason() == StopReason.END_OF_GENERATION,
                    r.stopReason() + " after " + r.tokens().length + " tokens");
            assertTrue(r.text().startsWith("Once upon a time"), r.text());
            assertFalse(r.text().contains("<|end_story|>"));
        }
    }

    @Test
    void usageReportsTimings() {
        GenerationResult r = generator.generate(GenerationRequest.greedy("Once", 16));
        assertFalse(r.usage().timeToFirstToken().isNegative());
        assertTrue(r.usage().timeToFirstToken().compareTo(Duration.ofSeconds(30)) < 0);
        assertTrue(r.usage().decodeTokensPerSecond() > 0);
    }
}
