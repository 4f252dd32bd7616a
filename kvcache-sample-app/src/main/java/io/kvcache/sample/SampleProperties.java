package io.kvcache.sample;

import java.time.Duration;
import org.springframework.util.unit.DataSize;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The sample app's own settings ({@code sample.*}); the model, cache and generation defaults are
 * the starter's {@code kvcache.*}. Immutable and thread-safe.
 *
 * @param sessions conversation sessions of {@code POST /api/generate}
 * @param retryAfter the {@code Retry-After} sent with 429 when the cache cannot admit a request
 * @param streamTimeout longest time one generation's response (streamed or not) may take
 * @param disconnectProbeInterval how often a non-streaming response writes a space while it
 *     generates, which is how the server learns that its client went away (and then stops
 *     generating); see {@code JsonResponseFormat}
 * @param limits what one request may ask for, and how many may run at once
 */
@ConfigurationProperties("sample")
public record SampleProperties(@DefaultValue Sessions sessions, @DefaultValue("1s") Duration retryAfter,
        @DefaultValue("10m") Duration streamTimeout, @DefaultValue("250ms") Duration disconnectProbeInterval,
        @DefaultValue Limits limits) {

    public SampleProperties {
        if (streamTimeout.isNegative() || streamTimeout.isZero()) {
            throw new IllegalArgumentException("sample.stream-timeout must be positive, is " + streamTimeout);
        }
        if (disconnectProbeInterval.isNegative()) {
            throw new IllegalArgumentException("sample.disconnect-probe-interval must not be negative, is "
                    + disconnectProbeInterval);
        }
    }

    /**
     * Input limits of the generation endpoints ({@code /api/generate}, {@code /v1/completions},
     * {@code /v1/chat/completions}), checked before any cache sequence is opened.
     *
     * @param maxPromptSize largest prompt in UTF-8 bytes (chat: the roles and contents of all
     *     messages); checked before tokenizing. Beyond it: 400, code {@code prompt_too_large}
     * @param maxPromptTokens most prompt tokens; 0 (the default) means the cache's context length
     *     minus one, and a larger value is lowered to that. Beyond it: 400, code
     *     {@code context_length_exceeded}
     * @param maxTokens largest {@code max_tokens} a request may ask for (400, param {@code max_tokens})
     * @param maxConcurrentRequests generations running at once (streams and blocking calls); one
     *     more gets 429 with {@code Retry-After}, code {@code too_many_requests}
     */
    public record Limits(@DefaultValue("64KB") DataSize maxPromptSize, @DefaultValue("0") int maxPromptTokens,
            @DefaultValue("4096") int maxTokens, @DefaultValue("64") int maxConcurrentRequests) {
        public Limits {
            if (maxPromptSize.toBytes() < 1 || maxPromptSize.toBytes() > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("sample.limits.max-prompt-size must be between 1B and 2GB, is "
                        + maxPromptSize);
            }
            if (maxPromptTokens < 0) {
                throw new IllegalArgumentException("sample.limits.max-prompt-tokens must be >= 0 (0 = context "
                        + "length - 1), is " + maxPromptTokens);
            }
            if (maxTokens < 1) {
                throw new IllegalArgumentException("sample.limits.max-tokens must be at least 1, is " + maxTokens);
            }
            if (maxConcurrentRequests < 1) {
                throw new IllegalArgumentException("sample.limits.max-concurrent-requests must be at least 1, is "
                        + maxConcurrentRequests);
            }
        }
    }

    /**
     * @param maxSessions sessions kept at once; the least recently used idle one is closed to make
     *     room. Each holds a cache sequence, so keep it below {@code kvcache.cache.max-sequences}
     * @param idleTimeout a session unused this long is closed and its cache sequence freed
     */
    public record Sessions(@DefaultValue("8") int maxSessions, @DefaultValue("10m") Duration idleTimeout) {
        public Sessions {
            if (maxSessions < 1) {
                throw new IllegalArgumentException("sample.sessions.max-sessions must be at least 1, is " + maxSessions);
            }
            if (idleTimeout.isNegative() || idleTimeout.isZero()) {
                throw new IllegalArgumentException("sample.sessions.idle-timeout must be positive, is " + idleTimeout);
            }
        }
    }
}
