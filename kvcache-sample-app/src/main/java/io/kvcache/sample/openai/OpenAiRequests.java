package io.kvcache.sample.openai;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.kvcache.sample.web.GenerationRequests;
import java.util.List;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

/**
 * Request bodies of the OpenAI-compatible endpoints. Fields the app does not use (e.g.
 * {@code user}, {@code frequency_penalty}) are accepted and ignored, as OpenAI clients send them.
 */
final class OpenAiRequests {
    private OpenAiRequests() {
    }

    /** {@code stream_options}. */
    record StreamOptions(@JsonProperty("include_usage") @Nullable Boolean includeUsage) {
    }

    /** One message of {@code messages}: content is a string or a list of {@code {"type": "text", "text"}} parts. */
    record Message(@JsonProperty("role") @Nullable String role, @JsonProperty("content") @Nullable JsonNode content) {
    }

    /** {@code POST /v1/chat/completions}. {@code max_completion_tokens} is the newer name of {@code max_tokens}. */
    record ChatCompletionRequest(
            @JsonProperty("model") @Nullable String model,
            @JsonProperty("messages") @Nullable List<Message> messages,
            @JsonProperty("stream") @Nullable Boolean stream,
            @JsonProperty("stream_options") @Nullable StreamOptions streamOptions,
            @JsonProperty("max_tokens") @Nullable Integer maxTokens,
            @JsonProperty("max_completion_tokens") @Nullable Integer maxCompletionTokens,
            @JsonProperty("temperature") @Nullable Double temperature,
            @JsonProperty("top_p") @Nullable Double topP,
            @JsonProperty("top_k") @Nullable Integer topK,
            @JsonProperty("seed") @Nullable Long seed,
            @JsonProperty("stop") @Nullable JsonNode stop,
            @JsonProperty("n") @Nullable Integer n,
            @JsonProperty("tools") @Nullable JsonNode tools) {

        GenerationRequests.Options options() {
            return new GenerationRequests.Options(maxCompletionTokens != null ? maxCompletionTokens : maxTokens,
                    temperature, topP, topK, seed, stop);
        }
    }

    /** {@code POST /v1/completions}: the prompt is a string, a list of one string, or a list of token ids. */
    record CompletionRequest(
            @JsonProperty("model") @Nullable String model,
            @JsonProperty("prompt") @Nullable JsonNode prompt,
            @JsonProperty("stream") @Nullable Boolean stream,
            @JsonProperty("stream_options") @Nullable StreamOptions streamOptions,
            @JsonProperty("max_tokens") @Nullable Integer maxTokens,
            @JsonProperty("temperature") @Nullable Double temperature,
            @JsonProperty("top_p") @Nullable Double topP,
            @JsonProperty("top_k") @Nullable Integer topK,
            @JsonProperty("seed") @Nullable Long seed,
            @JsonProperty("stop") @Nullable JsonNode stop,
            @JsonProperty("n") @Nullable Integer n,
            @JsonProperty("echo") @Nullable Boolean echo) {

        GenerationRequests.Options options() {
            // OpenAI's legacy completions default to 16 tokens; keep the server's default instead.
            return new GenerationRequests.Options(maxTokens, temperature, topP, topK, seed, stop);
        }
    }
}
