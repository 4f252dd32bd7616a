package io.kvcache.sample.web;

import com.fasterxml.jackson.annotation.JsonProperty;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

/**
 * The body of {@code POST /api/generate}. Only {@code prompt} is required. Immutable (the
 * {@code stop} node is only read).
 *
 * @param prompt the text to continue (in a session: the next turn's text)
 * @param maxTokens most tokens to generate
 * @param temperature 0 (greedy) to 2
 * @param topP nucleus sampling, (0, 1]
 * @param topK keep the k most likely tokens; 0 disables
 * @param seed seed of the random draw, for reproducible output
 * @param stop a string or a list of up to four strings that end the generation
 * @param sessionId continue (or start) the conversation with this id, reusing its cache
 */
public record GenerateBody(
        @JsonProperty("prompt") @Nullable String prompt,
        @JsonProperty("max_tokens") @Nullable Integer maxTokens,
        @JsonProperty("temperature") @Nullable Double temperature,
        @JsonProperty("top_p") @Nullable Double topP,
        @JsonProperty("top_k") @Nullable Integer topK,
        @JsonProperty("seed") @Nullable Long seed,
        @JsonProperty("stop") @Nullable JsonNode stop,
        @JsonProperty("session_id") @Nullable String sessionId) {

    GenerationRequests.Options options() {
        return new GenerationRequests.Options(maxTokens, temperature, topP, topK, seed, stop);
    }
}
