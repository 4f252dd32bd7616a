package io.kvcache.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvcache.cache.KvCache;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.inference.StopReason;
import io.kvcache.sample.TestHttp.SseEvent;
import io.kvcache.sample.TestHttp.SseStream;
import io.kvcache.testing.SharedModels;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * {@code POST /api/generate} over real HTTP against stories260K: event order and content, equality
 * with the library's greedy output, sessions, parallel streams, and cancellation on disconnect.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class GenerateApiTest {
    static final String PROMPT = "Once upon a time";
    static final int MAX_TOKENS = 40;

    static InferenceEngine referenceEngine;
    static KvCache referenceCache;
    static GenerationResult reference;

    @LocalServerPort
    int port;
    TestHttp http;

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("kvcache.model.path", () -> SharedModels.model("stories260K.gguf").toString());
    }

    /** The library's own greedy output, from an engine and cache of its own. */
    @BeforeAll
    static void libraryReference() {
        referenceEngine = InferenceEngine.load(SharedModels.model("stories260K.gguf"));
        referenceCache = referenceEngine.createKvCache();
        reference = new Generator(referenceEngine, referenceCache).generate(GenerationRequest.greedy(PROMPT, MAX_TOKENS));
        assertThat(reference.tokens()).hasSize(MAX_TOKENS);
        assertThat(reference.text()).isNotBlank();
    }

    @AfterAll
    static void closeReference() {
        referenceCache.close();
        referenceEngine.close();
    }

    @BeforeEach
    void client() {
        http = new TestHttp(port);
    }

    static String greedyBody(int maxTokens) {
        return "{\"prompt\": \"" + PROMPT + "\", \"max_tokens\": " + maxTokens + ", \"temperature\": 0}";
    }

    @Test
    void streamsOneEventPerTokenThenDone() {
        List<SseEvent> events;
        try (SseStream s = http.stream("/api/generate", greedyBody(MAX_TOKENS))) {
            assertThat(s.status()).isEqualTo(200);
            assertThat(s.response.headers().firstValue("Content-Type")).hasValueSatisfying(
                    ct -> assertThat(ct).startsWith("text/event-stream"));
            events = s.all();
        }
        assertThat(events).hasSize(MAX_TOKENS + 1);
        for (SseEvent e : events.subList(0, MAX_TOKENS)) {
            assertThat(e.name()).isNull();
            JsonNode token = e.json();
            assertThat(token.propertyNames()).containsExactlyInAnyOrder("text", "id");
            assertThat(token.get("text").isString()).isTrue();
            assertThat(token.get("id").asInt()).isBetween(0, referenceEngine.config().vocabularySize() - 1);
        }
        SseEvent done = events.getLast();
        assertThat(done.name()).isEqualTo("done");
        JsonNode d = done.json();
        assertThat(d.get("stop_reason").asString()).isEqualTo("max_tokens");
        JsonNode usage = d.get("usage");
        int promptTokens = referenceEngine.tokenizer().encode(PROMPT, true, false).length;
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(promptTokens);
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(MAX_TOKENS);
        assertThat(usage.get("cached_tokens").asInt()).isBetween(0, promptTokens - 1);
        assertThat(usage.get("time_to_first_token_ms").asDouble()).isPositive();
        assertThat(usage.get("tokens_per_second").asDouble()).isPositive();
    }

    @Test
    void greedyOutputOverHttpEqualsTheLibrarysGreedyOutput() {
        Streamed s = generate(greedyBody(MAX_TOKENS));
        assertThat(s.ids).containsExactly(toList(reference.tokens()).toArray(Integer[]::new));
        assertThat(s.text).isEqualTo(reference.text());
        assertThat(s.done.get("stop_reason").asString()).isEqualTo("max_tokens");
    }

    @Test
    void eachGenerationFeedsTheStartersGenerationMeters() {
        double completion = http.metric("kvcache.generation.tokens?tag=kind:completion");
        double latencies = http.metric("kvcache.generation.token.latency");
        double firstTokens = http.metric("kvcache.generation.time.to.first.token");
        generate(greedyBody(MAX_TOKENS));
        assertThat(http.metric("kvcache.generation.tokens?tag=kind:completion")).isEqualTo(completion + MAX_TOKENS);
        assertThat(http.metric("kvcache.generation.token.latency")).isEqualTo(latencies + MAX_TOKENS - 1);
        assertThat(http.metric("kvcache.generation.time.to.first.token")).isEqualTo(firstTokens + 1);
    }

    @Test
    void eightParallelStreamsAllComplete() throws Exception {
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<Streamed>> futures = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                futures.add(pool.submit(() -> generate(greedyBody(MAX_TOKENS))));
            }
            for (Future<Streamed> f : futures) {
                Streamed s = f.get();
                assertThat(s.done.get("stop_reason").asString()).isEqualTo("max_tokens");
                assertThat(s.text).isEqualTo(reference.text());
            }
        }
        awaitNoSequences();
    }

    @Test
    void aSessionReusesItsCacheOnTheNextTurn() {
        String id = "test-session-" + System.nanoTime();
        Streamed first = generate("{\"prompt\": \"" + PROMPT + "\", \"max_tokens\": 8, \"temperature\": 0, "
                + "\"session_id\": \"" + id + "\"}");
        assertThat(first.done.get("session_id").asString()).isEqualTo(id);
        int firstTurnTokens = first.done.get("usage").get("prompt_tokens").asInt() + 8;
        assertThat(http.sequences()).isEqualTo(1);

        Streamed second = generate("{\"prompt\": \" and then\", \"max_tokens\": 8, \"temperature\": 0, "
                + "\"session_id\": \"" + id + "\"}");
        JsonNode usage = second.done.get("usage");
        // The second turn's prompt is the whole transcript plus the new text; the transcript is cached.
        assertThat(usage.get("prompt_tokens").asInt()).isGreaterThan(firstTurnTokens);
        assertThat(usage.get("cached_tokens").asInt()).isGreaterThanOrEqualTo(firstTurnTokens - 1);

        assertThat(http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(http.base() + "/api/sessions/" + id))
                .DELETE().build()).statusCode()).isEqualTo(204);
        awaitNoSequences();
    }

    @Test
    void aClientThatDisconnectsStopsItsGenerationAndFreesItsSequence() {
        double cancelledBefore = cancelledStreams();
        // Greedy stories260K does not end this prompt by itself within 2000 tokens, so only the
        // disconnect can end the stream as "cancelled".
        try (SseStream s = http.stream("/api/generate", greedyBody(2000))) {
            assertThat(s.status()).isEqualTo(200);
            for (int i = 0; i < 3; i++) {
                SseEvent e = s.next();
                assertThat(e).isNotNull();
                assertThat(e.name()).isNull();
            }
            assertThat(http.sequences()).isEqualTo(1);
        }
        awaitNoSequences();
        await().atMost(Duration.ofSeconds(10)).until(() -> cancelledStreams() == cancelledBefore + 1);
    }

    record Streamed(List<Integer> ids, String text, JsonNode done) {
    }

    Streamed generate(String body) {
        try (SseStream s = http.stream("/api/generate", body)) {
            assertThat(s.status()).as("status").isEqualTo(200);
            List<Integer> ids = new ArrayList<>();
            StringBuilder text = new StringBuilder();
            for (SseEvent e = s.next(); e != null; e = s.next()) {
                if ("done".equals(e.name())) {
                    assertThat(s.next()).as("nothing after done").isNull();
                    return new Streamed(ids, text.toString(), e.json());
                }
                assertThat(e.name()).isNull();
                ids.add(e.json().get("id").asInt());
                text.append(e.json().get("text").asString());
            }
            throw new AssertionError("the stream ended without a done event");
        }
    }

    void awaitNoSequences() {
        await().atMost(Duration.ofSeconds(10)).until(() -> http.sequences() == 0);
    }

    double cancelledStreams() {
        return http.metric("sample.streams?tag=outcome:cancelled");
    }

    static List<Integer> toList(int[] ids) {
        List<Integer> list = new ArrayList<>(ids.length);
        for (int id : ids) {
            list.add(id);
        }
        return list;
    }

}
