package io.kvcache.sample;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.cache.KvCache;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.sample.TestHttp.SseEvent;
import io.kvcache.sample.TestHttp.SseStream;
import io.kvcache.testing.SharedModels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

/**
 * Shared by the memory-pressure tests: eight different greedy prompts of ~100 tokens each, their
 * unpressured outputs (the library alone, on a cache of its own), and a runner that sends all of
 * them at once as streams and records how each ended.
 */
final class MemoryPressure {
    static final int MAX_TOKENS = 100;
    static final List<String> PROMPTS = List.of("Once upon a time", "Lily wanted to", "The little dog",
            "Tom and his mom", "One day, a bird", "The sun was", "Sam had a red ball", "There was a big tree");

    /**
     * The budget of the pressure tests: 21 blocks of 16 positions at 1280 bytes per position
     * (stories260K, F32), room for 3 sequences of prompt + 100 tokens (7 blocks each) of the 8 run.
     */
    static final String BUDGET = "kvcache.cache.memory-budget=420KB";

    private MemoryPressure() {
    }

    /** Each prompt's token ids when generated alone with a cache that never runs out. */
    static Map<String, List<Integer>> unpressured() {
        Map<String, List<Integer>> ids = new HashMap<>();
        alone(MAX_TOKENS).forEach((prompt, result) -> ids.put(prompt, IntStream.of(result.tokens()).boxed().toList()));
        return ids;
    }

    /** Each prompt's greedy result of {@code maxTokens} when generated alone with a cache of its own. */
    static Map<String, GenerationResult> alone(int maxTokens) {
        try (InferenceEngine engine = InferenceEngine.load(SharedModels.model("stories260K.gguf"));
                KvCache cache = engine.createKvCache()) {
            Generator generator = new Generator(engine, cache);
            Map<String, GenerationResult> outputs = new HashMap<>();
            for (String prompt : PROMPTS) {
                outputs.put(prompt, generator.generate(GenerationRequest.greedy(prompt, maxTokens)));
            }
            return outputs;
        }
    }

    /**
     * How one streamed request ended.
     *
     * @param status the HTTP status
     * @param tokens the token ids streamed before the end
     * @param doneOrError the last event's name ({@code done} or {@code error}), or the error body of a refusal
     * @param errorCode the error's code, if it failed
     */
    record Outcome(String prompt, int status, List<Integer> tokens, @Nullable String doneOrError,
            @Nullable String errorCode, @Nullable String message) {
        boolean completed() {
            return status == 200 && "done".equals(doneOrError);
        }
    }

    /** Sends every prompt at the same moment as a greedy stream and waits (bounded) for all. */
    static List<Outcome> runAll(TestHttp http, Duration timeout) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(PROMPTS.size());
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Outcome>> futures = new ArrayList<>();
            for (String prompt : PROMPTS) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return run(http, prompt);
                }));
            }
            go.countDown();
            List<Outcome> outcomes = new ArrayList<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            for (Future<Outcome> f : futures) {
                outcomes.add(f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            }
            return outcomes;
        } finally {
            pool.shutdownNow();
        }
    }

    static Outcome run(TestHttp http, String prompt) {
        String body = "{\"prompt\": " + TestHttp.JSON.writeValueAsString(prompt) + ", \"max_tokens\": " + MAX_TOKENS
                + ", \"temperature\": 0}";
        try (SseStream s = http.stream("/api/generate", body)) {
            if (s.status() != 200) {
                JsonNode error = TestHttp.JSON.readTree(s.rest()).get("error");
                return new Outcome(prompt, s.status(), List.of(), null, error.get("code").asString(),
                        error.get("message").asString());
            }
            List<Integer> tokens = new ArrayList<>();
            for (SseEvent e = s.next(); e != null; e = s.next()) {
                if (e.name() == null) {
                    tokens.add(e.json().get("id").asInt());
                } else if (e.name().equals("error")) {
                    JsonNode error = e.json().get("error");
                    return new Outcome(prompt, 200, tokens, "error", error.get("code").asString(),
                            error.get("message").asString());
                } else {
                    assertThat(e.name()).isEqualTo("done");
                    assertThat(s.next()).as("nothing after done").isNull();
                    return new Outcome(prompt, 200, tokens, "done", null, null);
                }
            }
            throw new AssertionError(prompt + ": the stream ended without done or error after " + tokens.size()
                    + " tokens");
        }
    }
}
