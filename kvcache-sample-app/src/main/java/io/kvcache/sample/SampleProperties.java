package io.kvcache.sample;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The sample app's own settings ({@code sample.*}); the model, cache and generation defaults are
 * the starter's {@code kvcache.*}. Immutable and thread-safe.
 *
 * @param sessions conversation sessions of {@code POST /api/generate}
 * @param retryAfter the {@code Retry-After} sent with 429 when the cache cannot admit a request
 * @param streamTimeout longest time one streamed response may take
 */
@ConfigurationProperties("sample")
public record SampleProperties(@DefaultValue Sessions sessions, @DefaultValue("1s") Duration retryAfter,
        @DefaultValue("10m") Duration streamTimeout) {

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
