package io.kvcache.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvcache.sample.TestHttp.SseStream;
import io.kvcache.testing.SharedModels;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Every refusal returns OpenAI's error JSON with the right status: 400 for invalid requests (code
 * {@code context_length_exceeded} for a prompt that does not fit), 409 for a busy session, 429 with
 * {@code Retry-After} when the cache cannot admit another sequence. The cache here admits two.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "kvcache.cache.max-sequences=2", "sample.sessions.max-sessions=4", "sample.retry-after=3s"})
class ApiErrorsTest {
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
    void noSequenceLeftBehind() {
        for (String id : new String[] {"s1", "s2", "busy"}) {
            http.send(HttpRequest.newBuilder(URI.create(http.base() + "/api/sessions/" + id)).DELETE().build());
        }
        await().atMost(Duration.ofSeconds(10))
                .until(() -> http.getJson("/actuator/kvcache").get("stats").get("sequences").asInt() == 0);
    }

    static JsonNode assertError(HttpResponse<String> r, int status, String type, String param, String code) {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(
                ct -> assertThat(ct).startsWith("application/json"));
        JsonNode root = TestHttp.JSON.readTree(r.body());
        assertThat(root.propertyNames()).containsExactly("error");
        JsonNode e = root.get("error");
        assertThat(e.propertyNames()).containsExactlyInAnyOrder("message", "type", "param", "code");
        assertThat(e.get("message").asString()).isNotBlank();
        assertThat(e.get("type").asString()).isEqualTo(type);
        if (param == null) {
            assertThat(e.get("param").isNull()).isTrue();
        } else {
            assertThat(e.get("param").asString()).isEqualTo(param);
        }
        if (code == null) {
            assertThat(e.get("code").isNull()).isTrue();
        } else {
            assertThat(e.get("code").asString()).isEqualTo(code);
        }
        return e;
    }

    @Test
    void invalidRequestsGet400NamingTheField() {
        assertError(http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\""), 400,
                "invalid_request_error", null, null);
        assertError(http.post("/v1/chat/completions", "{\"model\": \"x\"}"), 400, "invalid_request_error", "messages", null);
        assertError(http.post("/v1/chat/completions", "{\"messages\": [{\"content\": \"hi\"}]}"), 400,
                "invalid_request_error", "messages[0].role", null);
        assertError(http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], "
                + "\"temperature\": 3}"), 400, "invalid_request_error", "temperature", null);
        assertError(http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], "
                + "\"n\": 2}"), 400, "invalid_request_error", "n", null);
        assertError(http.post("/v1/completions", "{\"prompt\": \"hi\", \"stop\": 5}"), 400,
                "invalid_request_error", "stop", null);
        assertError(http.post("/v1/completions", "{\"prompt\": \"hi\", \"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}"),
                400, "invalid_request_error", "stop", null);
        assertError(http.post("/v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 0}"), 400,
                "invalid_request_error", "max_tokens", null);
        assertError(http.post("/v1/completions", "{\"prompt\": [1, 99999999]}"), 400, "invalid_request_error",
                "prompt", null);
        assertError(http.post("/api/generate", "{\"max_tokens\": 5}"), 400, "invalid_request_error", "prompt", null);
        // A client that asks for an event stream (as the page does) still gets the JSON error.
        try (TestHttp.SseStream s = http.stream("/api/generate", "{\"max_tokens\": 5}")) {
            assertThat(s.status()).isEqualTo(400);
            assertThat(s.response.headers().firstValue("Content-Type")).hasValueSatisfying(
                    ct -> assertThat(ct).startsWith("application/json"));
            assertThat(TestHttp.JSON.readTree(s.rest()).get("error").get("param").asString()).isEqualTo("prompt");
        }
        assertError(http.post("/api/generate", "{\"prompt\": \"hi\", \"top_p\": 0}"), 400, "invalid_request_error",
                "top_p", null);
        assertError(http.post("/api/generate", "{\"prompt\": \"hi\", \"session_id\": \"no spaces\"}"), 400,
                "invalid_request_error", "session_id", null);
        assertError(http.send(HttpRequest.newBuilder(URI.create(http.base() + "/api/generate"))
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("hi")).build()),
                415, "invalid_request_error", null, null);
    }

    @Test
    void aPromptLongerThanTheContextIs400ContextLengthExceeded() {
        String longText = "the cat sat on the mat. ".repeat(400);
        JsonNode chat = assertError(http.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \""
                + longText + "\"}], \"stream\": true}"), 400, "invalid_request_error", "messages", "context_length_exceeded");
        assertThat(chat.get("message").asString()).contains("2048");
        assertError(http.post("/v1/completions", "{\"prompt\": \"" + longText + "\"}"), 400, "invalid_request_error",
                "prompt", "context_length_exceeded");
        assertError(http.post("/api/generate", "{\"prompt\": \"" + longText + "\"}"), 400, "invalid_request_error",
                "prompt", "context_length_exceeded");
    }

    @Test
    void aFullCacheIs429WithRetryAfterUntilASequenceIsFreed() {
        // Two sessions hold the cache's two sequences between turns.
        for (String id : new String[] {"s1", "s2"}) {
            try (SseStream s = http.stream("/api/generate", "{\"prompt\": \"Once\", \"max_tokens\": 2, \"session_id\": \""
                    + id + "\"}")) {
                assertThat(s.status()).isEqualTo(200);
                assertThat(s.all().getLast().name()).isEqualTo("done");
            }
        }
        String[][] requests = {
                {"/api/generate", "{\"prompt\": \"Once\"}"},
                {"/v1/completions", "{\"prompt\": \"Once\", \"stream\": true}"},
                {"/v1/completions", "{\"prompt\": \"Once\"}"},
                {"/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"},
        };
        for (String[] request : requests) {
            HttpResponse<String> r = http.post(request[0], request[1]);
            JsonNode e = assertError(r, 429, "rate_limit_error", null, "kv_cache_full");
            assertThat(e.get("message").asString()).contains("maximum of 2 sequences");
            assertThat(r.headers().firstValue("Retry-After")).hasValue("3");
        }
        assertThat(http.send(HttpRequest.newBuilder(URI.create(http.base() + "/api/sessions/s1")).DELETE().build())
                .statusCode()).isEqualTo(204);
        HttpResponse<String> ok = http.post("/v1/completions", "{\"prompt\": \"Once\", \"max_tokens\": 3}");
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
    }

    @Test
    void aSecondTurnWhileTheFirstRunsIs409() {
        try (SseStream first = http.stream("/api/generate", "{\"prompt\": \"Once\", \"max_tokens\": 2000, "
                + "\"temperature\": 0, \"session_id\": \"busy\"}")) {
            assertThat(first.status()).isEqualTo(200);
            assertThat(first.next()).isNotNull();
            assertError(http.post("/api/generate", "{\"prompt\": \"Once\", \"session_id\": \"busy\"}"), 409,
                    "invalid_request_error", "session_id", "session_busy");
        }
    }
}
