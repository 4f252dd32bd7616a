package io.kvcache.sample.openai;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.kvcache.inference.Usage;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Response bodies of the OpenAI-compatible endpoints, field for field as OpenAI writes them. */
final class OpenAiResponses {
    private OpenAiResponses() {
    }

    record PromptTokensDetails(@JsonProperty("cached_tokens") int cachedTokens) {
    }

    record OpenAiUsage(@JsonProperty("prompt_tokens") int promptTokens,
            @JsonProperty("completion_tokens") int completionTokens,
            @JsonProperty("total_tokens") int totalTokens,
            @JsonProperty("prompt_tokens_details") PromptTokensDetails promptTokensDetails) {

        static OpenAiUsage of(Usage u) {
            return new OpenAiUsage(u.promptTokens(), u.completionTokens(), u.totalTokens(),
                    new PromptTokensDetails(u.cachedPromptTokens()));
        }
    }

    record AssistantMessage(@JsonProperty("role") String role, @JsonProperty("content") String content) {
    }

    record ChatChoice(@JsonProperty("index") int index, @JsonProperty("message") AssistantMessage message,
            @JsonProperty("logprobs") @Nullable Object logprobs, @JsonProperty("finish_reason") String finishReason) {
    }

    record ChatCompletion(@JsonProperty("id") String id, @JsonProperty("object") String object,
            @JsonProperty("created") long created, @JsonProperty("model") String model,
            @JsonProperty("choices") List<ChatChoice> choices, @JsonProperty("usage") OpenAiUsage usage) {
    }

    /** A chunk's delta: only the fields that changed. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Delta(@JsonProperty("role") @Nullable String role, @JsonProperty("content") @Nullable String content) {
    }

    record ChunkChoice(@JsonProperty("index") int index, @JsonProperty("delta") Delta delta,
            @JsonProperty("logprobs") @Nullable Object logprobs,
            @JsonProperty("finish_reason") @Nullable String finishReason) {
    }

    record ChatCompletionChunk(@JsonProperty("id") String id, @JsonProperty("object") String object,
            @JsonProperty("created") long created, @JsonProperty("model") String model,
            @JsonProperty("choices") List<ChunkChoice> choices, @JsonProperty("usage") @Nullable OpenAiUsage usage) {
    }

    record CompletionChoice(@JsonProperty("text") String text, @JsonProperty("index") int index,
            @JsonProperty("logprobs") @Nullable Object logprobs,
            @JsonProperty("finish_reason") @Nullable String finishReason) {
    }

    /** Both the whole completion and a streamed chunk ({@code usage} null until the last). */
    record Completion(@JsonProperty("id") String id, @JsonProperty("object") String object,
            @JsonProperty("created") long created, @JsonProperty("model") String model,
            @JsonProperty("choices") List<CompletionChoice> choices, @JsonProperty("usage") @Nullable OpenAiUsage usage) {
    }

    record ModelCard(@JsonProperty("id") String id, @JsonProperty("object") String object,
            @JsonProperty("created") long created, @JsonProperty("owned_by") String ownedBy) {
    }

    record ModelList(@JsonProperty("object") String object, @JsonProperty("data") List<ModelCard> data) {
    }
}
