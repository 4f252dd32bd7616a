package io.kvcache.inference;

import java.time.Duration;

/**
 * Token counts and timings of one generation.
 *
 * @param promptTokens tokens of the prompt, special tokens included
 * @param cachedPromptTokens prompt tokens served from the cache (prefix cache or the session's
 *     previous turns) instead of being recomputed
 * @param completionTokens tokens generated
 * @param timeToFirstToken from the start of the request to the first generated token
 * @param decodeTokensPerSecond generated tokens after the first, per second of decoding
 */
public record Usage(int promptTokens, int cachedPromptTokens, int completionTokens, Duration timeToFirstToken,
        double decodeTokensPerSecond) {

    /** Prompt plus completion tokens. */
    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
