package io.kvcache.sample;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.cache.KvCache;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.sampling.SamplerSettings;
import io.kvcache.testing.SharedModels;
import io.kvcache.tokenizer.ChatMessage;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.metadata.Usage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.openai.OpenAiChatModel;
import org.springframework.ai.openai.OpenAiChatOptions;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A real third-party OpenAI client, Spring AI's {@link OpenAiChatModel} (on the official OpenAI
 * Java SDK), pointed at the app: it streams a chat completion and reads the usage, unchanged.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class SpringAiClientTest {
    static final String USER = "Tell me a story about a dog.";
    static final int MAX_TOKENS = 20;

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("kvcache.model.path", () -> SharedModels.model("stories260K.gguf").toString());
    }

    OpenAiChatModel client() {
        return OpenAiChatModel.builder()
                .options(OpenAiChatOptions.builder()
                        .baseUrl("http://localhost:" + port + "/v1")
                        .apiKey("not-needed")
                        .model("stories260K")
                        .temperature(0.0)
                        .maxTokens(MAX_TOKENS)
                        .streamUsage(true)
                        .build())
                .build();
    }

    static GenerationResult libraryGreedy() {
        try (InferenceEngine engine = InferenceEngine.load(SharedModels.model("stories260K.gguf"));
                KvCache cache = engine.createKvCache()) {
            return new Generator(engine, cache).generate(GenerationRequest.builder()
                    .messages(List.of(ChatMessage.user(USER))).sampling(SamplerSettings.greedy()).maxTokens(MAX_TOKENS)
                    .build());
        }
    }

    @Test
    void streamsAChatCompletionAndReadsUsage() {
        GenerationResult expected = libraryGreedy();
        List<ChatResponse> responses = client().stream(new Prompt(new UserMessage(USER)))
                .collectList().block(Duration.ofSeconds(60));
        assertThat(responses).isNotNull().hasSizeGreaterThan(2);
        StringBuilder text = new StringBuilder();
        for (ChatResponse r : responses) {
            if (r.getResult() != null && r.getResult().getOutput().getText() != null) {
                text.append(r.getResult().getOutput().getText());
            }
        }
        assertThat(text.toString()).isEqualTo(expected.text());
        Usage usage = responses.stream().map(r -> r.getMetadata().getUsage())
                .filter(u -> u != null && u.getTotalTokens() != null && u.getTotalTokens() > 0)
                .reduce((a, b) -> b).orElseThrow(() -> new AssertionError("no chunk carried usage"));
        assertThat(usage.getPromptTokens()).isEqualTo(expected.usage().promptTokens());
        assertThat(usage.getCompletionTokens()).isEqualTo(MAX_TOKENS);
        assertThat(usage.getTotalTokens()).isEqualTo(expected.usage().promptTokens() + MAX_TOKENS);
        String finish = responses.stream().map(r -> r.getResult() == null ? null
                        : r.getResult().getMetadata().getFinishReason())
                .filter(Objects::nonNull).filter(f -> !f.isBlank()).reduce((a, b) -> b).orElse("");
        assertThat(finish).isEqualToIgnoringCase("length");
    }

    @Test
    void callsAChatCompletion() {
        GenerationResult expected = libraryGreedy();
        ChatResponse response = client().call(new Prompt(new UserMessage(USER)));
        assertThat(response.getResult().getOutput().getText()).isEqualTo(expected.text());
        assertThat(response.getMetadata().getUsage().getPromptTokens()).isEqualTo(expected.usage().promptTokens());
        assertThat(response.getMetadata().getUsage().getCompletionTokens()).isEqualTo(MAX_TOKENS);
    }
}
