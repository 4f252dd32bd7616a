package io.kvcache.sample;

import static io.kvcache.sample.ApiErrorsTest.assertError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvcache.sample.TestHttp.SseStream;
import io.kvcache.testing.SharedModels;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * {@code sample.limits.*}: each limit is refused with OpenAI's error JSON on {@code /api/generate}
 * and both OpenAI endpoints (streaming and not), before any cache sequence is opened: the cache's
 * prefix-query counter does not move and no sequence or block is in use afterwards.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "sample.limits.max-prompt-size=3KB", "sample.limits.max-prompt-tokens=64", "sample.limits.max-tokens=2000",
        "sample.limits.max-concurrent-requests=2", "sample.retry-after=2s"})
class InputLimitsTest {
    @LocalServerPort
    int port;
    TestHttp http;

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("kvcache.model.path", () -> SharedModels.model("stories260K.gguf").toString());
    }

    @BeforeEach
    void client() {
        http = new TestHttp(port);
    }

    @AfterEach
    void nothingLeftOpen() {
        await().atMost(Duration.ofSeconds(10)).until(() -> stats().get("sequences").asInt() == 0);
        assertThat(stats().get("blocksUsed").asInt()).isZero();
    }

    JsonNode stats() {
        return http.getJson("/actuator/kvcache").get("stats");
    }

    /** The same prompt sent to each endpoint, streaming and not. */
    static List<String[]> everyEndpoint(String prompt, String extra) {
        String quoted = TestHttp.JSON.writeValueAsString(prompt);
        List<String[]> requests = new ArrayList<>();
        requests.add(new String[] {"/api/generate", "{\"prompt\": " + quoted + extra + "}", "prompt"});
        for (String stream : new String[] {"true", "false"}) {
            requests.add(new String[] {"/v1/completions", "{\"prompt\": " + quoted + ", \"stream\": " + stream + extra
                    + "}", "prompt"});
            requests.add(new String[] {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": "
                    + quoted + "}], \"stream\": " + stream + extra + "}", "messages"});
        }
        return requests;
    }

    /** Sends each request, checks the error, and that the cache saw none of them. */
    void assertRefusedBeforeTheCache(List<String[]> requests, String param, String code, String messagePart) {
        long queried = stats().get("prefixQueryTokens").asLong();
        for (String[] r : requests) {
            JsonNode e = assertError(http.post(r[0], r[1]), 400, "invalid_request_error", param == null ? r[2] : param,
                    code);
            assertThat(e.get("message").asString()).as(r[0]).contains(messagePart);
        }
        JsonNode stats = stats();
        assertThat(stats.get("prefixQueryTokens").asLong()).as("prompt tokens the cache was asked about").isEqualTo(queried);
        assertThat(stats.get("sequences").asInt()).isZero();
        assertThat(stats.get("blocksUsed").asInt()).isZero();
    }

    @Test
    void aPromptOverTheByteLimitIs400PromptTooLarge() {
        // 3 KiB + 1 byte in 3 KiB characters: only counting UTF-8 bytes (é is two) finds it too large.
        String prompt = "a".repeat(3071) + "é";
        assertThat(prompt.length()).isEqualTo(3072);
        assertRefusedBeforeTheCache(everyEndpoint(prompt, ""), null, "prompt_too_large", "3072");
    }

    @Test
    void aPromptOverTheTokenLimitIs400ContextLengthExceeded() {
        String prompt = "the cat sat on the mat. ".repeat(20); // ~480 bytes, well over 64 tokens
        assertRefusedBeforeTheCache(everyEndpoint(prompt, ""), null, "context_length_exceeded", "at most 64");
        // A prompt of token ids is held to the same limit.
        long queried = stats().get("prefixQueryTokens").asLong();
        assertError(http.post("/v1/completions", "{\"prompt\": " + "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]"
                .replace("[", "[" + "20, ".repeat(60)) + "}"), 400, "invalid_request_error", "prompt",
                "context_length_exceeded");
        assertThat(stats().get("prefixQueryTokens").asLong()).isEqualTo(queried);
        // Just under the limit is accepted.
        HttpResponse<String> ok = http.post("/v1/completions", "{\"prompt\": \"the cat sat on the mat.\", "
                + "\"max_tokens\": 3}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    }

    @Test
    void maxTokensOverTheLimitIs400NamingIt() {
        assertRefusedBeforeTheCache(everyEndpoint("Once", ", \"max_tokens\": 2001"), "max_tokens", null, "at most 2000");
        HttpResponse<String> ok = http.post("/v1/completions", "{\"prompt\": \"Once\", \"max_tokens\": 2000, "
                + "\"temperature\": 0, \"stop\": \".\"}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    }

    @Test
    void aThirdConcurrentRequestIs429TooManyRequestsWithRetryAfter() {
        // Long enough (seconds) that both are still running while the third request arrives, however
        // fast the machine; the streams are closed (client disconnect) right after the checks.
        String longRun = "{\"prompt\": \"Once\", \"max_tokens\": 2000, \"temperature\": 0, \"stream\": true}";
        try (SseStream a = http.stream("/v1/completions", longRun); SseStream b = http.stream("/api/generate",
                "{\"prompt\": \"Once\", \"max_tokens\": 2000, \"temperature\": 0}")) {
            assertThat(a.status()).isEqualTo(200);
            assertThat(b.status()).isEqualTo(200);
            assertThat(a.next()).isNotNull();
            assertThat(b.next()).isNotNull();
            long queried = stats().get("prefixQueryTokens").asLong();
            for (String[] r : everyEndpoint("Once", ", \"max_tokens\": 5")) {
                HttpResponse<String> refused = http.post(r[0], r[1]);
                JsonNode e = assertError(refused, 429, "rate_limit_error", null, "too_many_requests");
                assertThat(e.get("message").asString()).contains("2 generations", "max-concurrent-requests");
                assertThat(refused.headers().firstValue("Retry-After")).hasValue("2");
            }
            JsonNode stats = stats();
            assertThat(stats.get("sequences").asInt()).as("only the two admitted requests hold sequences").isEqualTo(2);
            assertThat(stats.get("prefixQueryTokens").asLong()).isEqualTo(queried);
        }
        // The slots come back when the streams end (here: the clients disconnected).
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            HttpResponse<String> ok = http.post("/v1/completions", "{\"prompt\": \"Once\", \"max_tokens\": 3}");
            assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        });
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> ok = http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", "
                    + "\"content\": \"hi\"}], \"max_tokens\": 2}");
            assertThat(ok.statusCode()).as("sequential requests never pile up: " + ok.body()).isEqualTo(200);
        }
    }
}
