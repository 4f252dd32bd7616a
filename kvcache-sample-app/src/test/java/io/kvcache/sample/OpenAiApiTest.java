package io.kvcache.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvcache.cache.KvCache;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.sample.TestHttp.SseEvent;
import io.kvcache.sample.TestHttp.SseStream;
import io.kvcache.sampling.SamplerSettings;
import io.kvcache.testing.SharedModels;
import io.kvcache.tokenizer.ChatMessage;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/** The OpenAI-compatible endpoints over real HTTP against stories260K, compared with the library. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class OpenAiApiTest {
    static final String USER = "Tell me a story about a cat.";
    static final String PROMPT = "Once upon a time";
    static final int MAX_TOKENS = 24;

    static InferenceEngine engine;
    static KvCache cache;
    static Generator library;

    @LocalServerPort
    int port;
    TestHttp http;

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("kvcache.model.path", () -> SharedModels.model("stories260K.gguf").toString());
        // Probes often enough to notice a disconnect long before a 2000-token generation ends.
        registry.add("sample.disconnect-probe-interval", () -> "20ms");
    }

    @BeforeAll
    static void library() {
        engine = InferenceEngine.load(SharedModels.model("stories260K.gguf"));
        cache = engine.createKvCache();
        library = new Generator(engine, cache);
    }

    @AfterAll
    static void close() {
        cache.close();
        engine.close();
    }

    @BeforeEach
    void client() {
        http = new TestHttp(port);
    }

    static GenerationResult libraryChat(int maxTokens) {
        return library.generate(GenerationRequest.builder().messages(List.of(ChatMessage.user(USER)))
                .sampling(SamplerSettings.greedy()).maxTokens(maxTokens).build());
    }

    static String chatBody(boolean stream, String extra) {
        return "{\"model\": \"any\", \"messages\": [{\"role\": \"user\", \"content\": \"" + USER + "\"}], "
                + "\"max_tokens\": " + MAX_TOKENS + ", \"temperature\": 0, \"stream\": " + stream + extra + "}";
    }

    @Test
    void chatCompletionMatchesTheLibrary() {
        GenerationResult expected = libraryChat(MAX_TOKENS);
        HttpResponse<String> r = http.post("/v1/chat/completions", chatBody(false, ""));
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode c = TestHttp.JSON.readTree(r.body());
        assertThat(c.get("object").asString()).isEqualTo("chat.completion");
        assertThat(c.get("id").asString()).startsWith("chatcmpl-");
        assertThat(c.get("created").asLong()).isPositive();
        assertThat(c.get("model").asString()).isEqualTo(engine.config().name());
        JsonNode choice = c.get("choices").get(0);
        assertThat(c.get("choices")).hasSize(1);
        assertThat(choice.get("index").asInt()).isZero();
        assertThat(choice.get("message").get("role").asString()).isEqualTo("assistant");
        assertThat(choice.get("message").get("content").asString()).isEqualTo(expected.text());
        assertThat(choice.get("finish_reason").asString()).isEqualTo("length");
        JsonNode usage = c.get("usage");
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(expected.usage().promptTokens());
        assertThat(usage.get("completion_tokens").asInt()).isEqualTo(MAX_TOKENS);
        assertThat(usage.get("total_tokens").asInt()).isEqualTo(expected.usage().promptTokens() + MAX_TOKENS);
        assertThat(usage.get("prompt_tokens_details").get("cached_tokens").asInt())
                .isBetween(0, expected.usage().promptTokens() - 1);
    }

    @Test
    void streamedChatCompletionHasOpenAisChunksUsageAndDone() {
        GenerationResult expected = libraryChat(MAX_TOKENS);
        List<SseEvent> events;
        try (SseStream s = http.stream("/v1/chat/completions", chatBody(true,
                ", \"stream_options\": {\"include_usage\": true}"))) {
            assertThat(s.status()).isEqualTo(200);
            events = s.all();
        }
        assertThat(events.getLast().data()).isEqualTo("[DONE]");
        List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(SseEvent::json).toList();
        String id = chunks.getFirst().get("id").asString();
        StringBuilder content = new StringBuilder();
        for (JsonNode chunk : chunks) {
            assertThat(chunk.get("object").asString()).isEqualTo("chat.completion.chunk");
            assertThat(chunk.get("id").asString()).isEqualTo(id);
        }
        JsonNode first = chunks.getFirst().get("choices").get(0);
        assertThat(first.get("delta").get("role").asString()).isEqualTo("assistant");
        List<JsonNode> choiceChunks = chunks.subList(0, chunks.size() - 1);
        for (JsonNode chunk : choiceChunks) {
            assertThat(chunk.get("usage").isNull()).isTrue();
            JsonNode delta = chunk.get("choices").get(0).get("delta");
            if (delta.has("content")) {
                content.append(delta.get("content").asString());
            }
        }
        assertThat(content.toString()).isEqualTo(expected.text());
        JsonNode last = choiceChunks.getLast().get("choices").get(0);
        assertThat(last.get("finish_reason").asString()).isEqualTo("length");
        for (JsonNode chunk : choiceChunks.subList(0, choiceChunks.size() - 1)) {
            assertThat(chunk.get("choices").get(0).get("finish_reason").isNull()).isTrue();
        }
        JsonNode usageChunk = chunks.getLast();
        assertThat(usageChunk.get("choices")).isEmpty();
        assertThat(usageChunk.get("usage").get("completion_tokens").asInt()).isEqualTo(MAX_TOKENS);
        assertThat(usageChunk.get("usage").get("prompt_tokens").asInt()).isEqualTo(expected.usage().promptTokens());
        assertThat(usageChunk.get("usage").get("prompt_tokens_details").get("cached_tokens").isInt()).isTrue();
    }

    @Test
    void streamWithoutIncludeUsageSendsNoUsageChunk() {
        List<SseEvent> events;
        try (SseStream s = http.stream("/v1/chat/completions", chatBody(true, ""))) {
            events = s.all();
        }
        assertThat(events.getLast().data()).isEqualTo("[DONE]");
        for (SseEvent e : events.subList(0, events.size() - 1)) {
            assertThat(e.json().get("choices")).hasSize(1);
        }
    }

    @Test
    void completionsStopAtAStopStringFromAList() {
        GenerationResult free = library.generate(GenerationRequest.greedy(PROMPT, MAX_TOKENS));
        // A stop string taken from the middle of the free-running text.
        String text = free.text();
        int from = text.length() / 2;
        String stop = text.substring(from, Math.min(text.length(), from + 3));
        String expected = text.substring(0, text.indexOf(stop));

        String body = "{\"prompt\": \"" + PROMPT + "\", \"max_tokens\": " + MAX_TOKENS + ", \"temperature\": 0, "
                + "\"stop\": [\"\\u0001never\", " + TestHttp.JSON.writeValueAsString(stop) + "]}";
        JsonNode c = TestHttp.JSON.readTree(http.post("/v1/completions", body).body());
        assertThat(c.get("object").asString()).isEqualTo("text_completion");
        assertThat(c.get("choices").get(0).get("text").asString()).isEqualTo(expected);
        assertThat(c.get("choices").get(0).get("finish_reason").asString()).isEqualTo("stop");

        // The same as a single string, streamed.
        String streamBody = "{\"prompt\": \"" + PROMPT + "\", \"max_tokens\": " + MAX_TOKENS + ", \"temperature\": 0, "
                + "\"stream\": true, \"stop\": " + TestHttp.JSON.writeValueAsString(stop) + "}";
        StringBuilder streamed = new StringBuilder();
        String finish = null;
        try (SseStream s = http.stream("/v1/completions", streamBody)) {
            for (SseEvent e = s.next(); e != null; e = s.next()) {
                if (e.data().equals("[DONE]")) {
                    assertThat(s.next()).isNull();
                    break;
                }
                JsonNode choice = e.json().get("choices").get(0);
                streamed.append(choice.get("text").asString());
                if (!choice.get("finish_reason").isNull()) {
                    finish = choice.get("finish_reason").asString();
                }
            }
        }
        assertThat(streamed.toString()).isEqualTo(expected);
        assertThat(finish).isEqualTo("stop");
    }

    @Test
    void aClientThatDisconnectsFromANonStreamingRequestStopsItsGeneration() throws Exception {
        double cancelledBefore = http.metric("sample.streams?tag=response:json&tag=outcome:cancelled");
        // Greedy stories260K does not end this prompt by itself within 2000 tokens, so only the
        // disconnect can end the generation as "cancelled".
        String body = "{\"prompt\": \"" + PROMPT + "\", \"max_tokens\": 2000, \"temperature\": 0}";
        try (Socket socket = new Socket("localhost", port)) {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
            await().atMost(Duration.ofSeconds(10)).until(() -> http.sequences() == 1);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> http.sequences() == 0);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> http.metric("sample.streams?tag=response:json&tag=outcome:cancelled") == cancelledBefore + 1);
    }

    @Test
    void completionsAcceptTokenIds() {
        int[] ids = engine.tokenizer().encode(PROMPT, true, false);
        GenerationResult expected = library.generate(GenerationRequest.builder().promptTokens(ids)
                .sampling(SamplerSettings.greedy()).maxTokens(MAX_TOKENS).build());
        String body = "{\"prompt\": " + TestHttp.JSON.writeValueAsString(ids) + ", \"max_tokens\": " + MAX_TOKENS
                + ", \"temperature\": 0}";
        JsonNode c = TestHttp.JSON.readTree(http.post("/v1/completions", body).body());
        assertThat(c.get("choices").get(0).get("text").asString()).isEqualTo(expected.text());
        assertThat(c.get("usage").get("prompt_tokens").asInt()).isEqualTo(ids.length);
    }

    @Test
    void modelsListTheLoadedModel() {
        JsonNode m = http.getJson("/v1/models");
        assertThat(m.get("object").asString()).isEqualTo("list");
        assertThat(m.get("data")).hasSize(1);
        assertThat(m.get("data").get(0).get("id").asString()).isEqualTo(engine.config().name());
        assertThat(m.get("data").get(0).get("object").asString()).isEqualTo("model");
    }
}
