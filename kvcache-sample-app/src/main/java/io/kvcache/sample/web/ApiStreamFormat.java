package io.kvcache.sample.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.TokenEvent;
import io.kvcache.inference.Usage;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

/**
 * The event stream of {@code POST /api/generate}: one unnamed event per token with
 * {@code {"text": delta, "id": tokenId}}, then {@code event: done} with the stop reason and usage
 * (or {@code event: error} with OpenAI's error JSON). Not thread-safe (one per stream).
 */
final class ApiStreamFormat implements StreamFormat {
    private final JsonMapper json;
    private final @Nullable String sessionId;

    ApiStreamFormat(JsonMapper json, @Nullable String sessionId) {
        this.json = json;
        this.sessionId = sessionId;
    }

    /** Data of a token event. */
    record TokenData(@JsonProperty("text") String text, @JsonProperty("id") int id) {
    }

    /** Data of the done event. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record DoneData(@JsonProperty("stop_reason") String stopReason, @JsonProperty("usage") UsageData usage,
            @JsonProperty("session_id") @Nullable String sessionId) {
    }

    /** Token counts and timings of a generation. */
    record UsageData(@JsonProperty("prompt_tokens") int promptTokens, @JsonProperty("cached_tokens") int cachedTokens,
            @JsonProperty("completion_tokens") int completionTokens,
            @JsonProperty("time_to_first_token_ms") double timeToFirstTokenMs,
            @JsonProperty("tokens_per_second") double tokensPerSecond) {

        static UsageData of(Usage u) {
            return new UsageData(u.promptTokens(), u.cachedPromptTokens(), u.completionTokens(),
                    u.timeToFirstToken().toNanos() / 1e6, u.decodeTokensPerSecond());
        }
    }

    @Override
    public String token(TokenEvent token) {
        return StreamFormat.event(null, json.writeValueAsString(new TokenData(token.text(), token.tokenId())));
    }

    @Override
    public String result(GenerationResult result) {
        DoneData done = new DoneData(result.stopReason().name().toLowerCase(Locale.ROOT), UsageData.of(result.usage()),
                sessionId);
        return StreamFormat.event("done", json.writeValueAsString(done));
    }

    @Override
    public String error(ApiError error) {
        return StreamFormat.event("error", json.writeValueAsString(error.response()));
    }
}
