package io.kvcache.spring.actuate;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvCacheStats;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.SequenceInfo;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.annotation.DeleteOperation;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;

/**
 * The {@code kvcache} actuator endpoint: the cache's shape, strategy, statistics and live sequences.
 *
 * <ul>
 *   <li>{@code GET /actuator/kvcache}: a {@link CacheReport};
 *   <li>{@code GET /actuator/kvcache/{id}}: one {@link SequenceReport} (404 when no live sequence
 *       has this id);
 *   <li>{@code DELETE /actuator/kvcache/{id}}: evicts the sequence's K/V (it keeps its tokens and is
 *       recomputed when used again);
 *   <li>{@code DELETE /actuator/kvcache}: forgets every prefix-cached block.
 * </ul>
 * Default access is read-only: the two delete operations need
 * {@code management.endpoint.kvcache.access=unrestricted}.
 *
 * <p>Thread-safe: every operation reads a consistent snapshot from the thread-safe {@link KvCache}.
 */
@Endpoint(id = "kvcache", defaultAccess = Access.READ_ONLY)
public class KvCacheEndpoint {
    private final KvCache cache;

    public KvCacheEndpoint(KvCache cache) {
        this.cache = Objects.requireNonNull(cache, "cache");
    }

    /** The whole report. */
    @ReadOperation
    public CacheReport report() {
        return new CacheReport(SpecReport.of(cache.spec()), cache.strategy().toString(), statsMap(cache.stats()),
                cache.sequences().stream().map(SequenceReport::of).toList());
    }

    /** One live sequence, or {@code null} (HTTP 404) when none has this id. */
    @ReadOperation
    public @Nullable SequenceReport sequence(@Selector long id) {
        SequenceInfo info = cache.sequenceInfo(id);
        return info == null ? null : SequenceReport.of(info);
    }

    /** Frees a live sequence's K/V blocks (see {@link KvCache#evict(long)}). */
    @DeleteOperation
    public EvictionReport evict(@Selector long id) {
        if (cache.sequenceInfo(id) == null) {
            return new EvictionReport(id, false, "no live sequence has this id");
        }
        boolean evicted = cache.evict(id);
        return new EvictionReport(id, evicted, evicted ? "evicted; its tokens are recomputed when it is used again"
                : "it holds no K/V or a thread is using it right now; try again");
    }

    /** Forgets every prefix-cached block; reports how many were dropped. */
    @DeleteOperation
    public PrefixCacheCleared clearPrefixCache() {
        int before = cache.stats().blocksCached();
        cache.clearPrefixCache();
        int after = cache.stats().blocksCached();
        return new PrefixCacheCleared(Math.max(0, before - after));
    }

    /**
     * Every {@link KvCacheStats} component under its Java name, in declaration order, plus
     * {@code prefixHitRate}. Read reflectively so new statistics appear without a change here.
     */
    static Map<String, Object> statsMap(KvCacheStats stats) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (RecordComponent component : KvCacheStats.class.getRecordComponents()) {
            try {
                map.put(component.getName(), component.getAccessor().invoke(stats));
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("cannot read KvCacheStats." + component.getName(), e);
            }
        }
        map.put("prefixHitRate", stats.prefixHitRate());
        return map;
    }

    /**
     * The endpoint's main response. Immutable.
     *
     * @param spec the cache's shape
     * @param strategy the cache strategy, e.g. {@code ALWAYS} or {@code LONG_SEQUENCE_ONLY(256)}
     * @param stats every {@link KvCacheStats} component by name, plus {@code prefixHitRate}
     * @param sequences live sequences in admission order
     */
    public record CacheReport(SpecReport spec, String strategy, Map<String, Object> stats,
            List<SequenceReport> sequences) {

        public CacheReport {
            stats = Collections.unmodifiableMap(new LinkedHashMap<>(stats));
            sequences = List.copyOf(sequences);
        }
    }

    /**
     * The cache's shape. Immutable.
     *
     * @param contextLength positions one sequence can hold (its capacity)
     * @param bytesPerToken bytes of K and V for one position over all layers and heads
     */
    public record SpecReport(int layers, int kvHeads, int headDim, int contextLength, KvElementType keyType,
            KvElementType valueType, int blockSize, long bytesPerToken) {

        static SpecReport of(KvCacheSpec spec) {
            return new SpecReport(spec.layers(), spec.kvHeads(), spec.headDim(), spec.contextLength(), spec.keyType(),
                    spec.valueType(), spec.blockSize(), spec.bytesPerToken());
        }
    }

    /**
     * One live sequence. Immutable.
     *
     * @param tokens committed positions
     * @param blocks blocks in its block table
     * @param sharedBlocks blocks also referenced by another sequence
     * @param ageSeconds seconds since it was opened
     */
    public record SequenceReport(long id, int tokens, int blocks, int sharedBlocks, double ageSeconds) {

        static SequenceReport of(SequenceInfo info) {
            return new SequenceReport(info.id(), info.tokens(), info.blocks(), info.sharedBlocks(),
                    info.age().toNanos() / 1e9);
        }
    }

    /** The outcome of {@code DELETE /actuator/kvcache/{id}}. Immutable. */
    public record EvictionReport(long id, boolean evicted, String detail) {
    }

    /** The outcome of {@code DELETE /actuator/kvcache}. Immutable. */
    public record PrefixCacheCleared(int blocksDropped) {
    }
}
