package io.kvcache.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvcache.sample.TestHttp.SseEvent;
import io.kvcache.sample.TestHttp.SseStream;
import io.kvcache.testing.SharedModels;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * A failure after streaming began (here: the cache's small memory budget runs out mid-generation)
 * arrives as an error event in the stream's format, and the sequence is freed. The strategy is
 * DISABLED because it allocates step by step; ALWAYS reserves a whole request at admission and
 * refuses it with 429 instead (see ApiErrorsTest and MemoryPressureAlwaysTest).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"kvcache.cache.memory-budget=200KB", "kvcache.cache.strategy=disabled"})
class MidStreamErrorTest {
    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("kvcache.model.path", () -> SharedModels.model("stories260K.gguf").toString());
    }

    @Test
    void apiGenerateEndsWithAnErrorEvent() {
        TestHttp http = new TestHttp(port);
        int blocks = http.getJson("/actuator/kvcache").get("stats").get("blocksTotal").asInt();
        int blockSize = http.getJson("/actuator/kvcache").get("spec").get("blockSize").asInt();
        List<SseEvent> events;
        try (SseStream s = http.stream("/api/generate", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 1000, "
                + "\"temperature\": 0}")) {
            assertThat(s.status()).isEqualTo(200);
            events = s.all();
        }
        SseEvent last = events.getLast();
        assertThat(last.name()).isEqualTo("error");
        JsonNode error = last.json().get("error");
        assertThat(error.get("type").asString()).isEqualTo("rate_limit_error");
        assertThat(error.get("code").asString()).isEqualTo("kv_cache_full");
        assertThat(error.get("message").asString()).contains("kvcache.cache.memory-budget");
        // Every token up to the budget was streamed before the error.
        List<SseEvent> tokens = events.subList(0, events.size() - 1);
        assertThat(tokens).allSatisfy(e -> assertThat(e.name()).isNull());
        assertThat(tokens.size()).isBetween(blocks * blockSize - 16, blocks * blockSize);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> http.getJson("/actuator/kvcache").get("stats").get("sequences").asInt() == 0);
    }

    @Test
    void openAiStreamsEndWithAnErrorChunk() {
        TestHttp http = new TestHttp(port);
        List<SseEvent> events;
        try (SseStream s = http.stream("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 1000, "
                + "\"temperature\": 0, \"stream\": true}")) {
            assertThat(s.status()).isEqualTo(200);
            events = s.all();
        }
        JsonNode last = events.getLast().json();
        assertThat(last.get("error").get("code").asString()).isEqualTo("kv_cache_full");
        assertThat(events.subList(0, events.size() - 1)).allSatisfy(e ->
                assertThat(e.json().get("object").asString()).isEqualTo("text_completion"));
    }

    /**
     * A non-streaming response commits its status with the first token (it probes the connection
     * from then on, see JsonResponseFormat), so a later failure is OpenAI's error document.
     */
    @Test
    void openAiNonStreamingResponsesEndWithAnErrorDocument() {
        TestHttp http = new TestHttp(port);
        HttpResponse<String> r = http.post("/v1/completions", "{\"prompt\": \"Once upon a time\", "
                + "\"max_tokens\": 1000, \"temperature\": 0}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(type ->
                assertThat(type).startsWith("application/json"));
        JsonNode error = TestHttp.JSON.readTree(r.body()).get("error");
        assertThat(error.get("type").asString()).isEqualTo("rate_limit_error");
        assertThat(error.get("code").asString()).isEqualTo("kv_cache_full");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> http.getJson("/actuator/kvcache").get("stats").get("sequences").asInt() == 0);
    }
}
