package io.kvcache.spring.actuate;

import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheStats;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Health of a {@link KvCache}, contributed as {@code kvcache}: {@code UP} while a new sequence can be
 * admitted, {@code OUT_OF_SERVICE} when it cannot (the maximum number of sequences is open, or, under a
 * strategy other than {@code ADAPTIVE}, no block is free or evictable from the prefix cache). Put it
 * in a readiness group ({@code management.endpoint.health.group.readiness.include=readinessState,kvcache})
 * so a full instance stops receiving traffic. Details: utilization, blocks used/free/cached, sequences,
 * maxSequences.
 *
 * <p>Thread-safe.
 */
public class KvCacheHealthIndicator implements HealthIndicator {
    private final KvCache cache;

    public KvCacheHealthIndicator(KvCache cache) {
        this.cache = Objects.requireNonNull(cache, "cache");
    }

    @Override
    public Health health() {
        KvCacheStats stats = cache.stats();
        String reason = refusal(stats);
        Health.Builder builder = reason == null ? Health.up() : Health.outOfService().withDetail("reason", reason);
        return builder
                .withDetail("utilization", stats.utilization())
                .withDetail("blocksUsed", stats.blocksUsed())
                .withDetail("blocksFree", stats.blocksFree())
                .withDetail("blocksCached", stats.blocksCached())
                .withDetail("tokens", stats.tokens())
                .withDetail("sequences", stats.sequences())
                .withDetail("maxSequences", cache.maxSequences())
                .build();
    }

    /** Why no new sequence could be admitted now, or null when one can. */
    private @Nullable String refusal(KvCacheStats stats) {
        if (stats.sequences() >= cache.maxSequences()) {
            return "all " + cache.maxSequences() + " sequences are in use";
        }
        if (!(cache.strategy() instanceof CacheStrategy.Adaptive) && stats.blocksFree() == 0 && stats.blocksCached() == 0) {
            return "no free or evictable block is left and strategy " + cache.strategy() + " does not preempt";
        }
        return null;
    }
}
