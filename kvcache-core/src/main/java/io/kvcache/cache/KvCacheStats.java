package io.kvcache.cache;

/**
 * An immutable snapshot of a {@link KvCache}'s state and counters. Thread-safe.
 *
 * @param blocksTotal blocks the budget allows
 * @param blocksUsed blocks referenced by at least one live sequence
 * @param blocksFree blocks neither used nor cached ({@code total - used - cached}); some may not be
 *     allocated yet
 * @param blocksCached unreferenced blocks kept for prefix reuse (evicted least recently used first)
 * @param tokens committed positions over all live sequences
 * @param bytesReserved off-heap bytes currently allocated (chunks)
 * @param bytesUsed bytes of used blocks
 * @param utilization {@code blocksUsed / blocksTotal}
 * @param sequences live sequences
 * @param prefixQueryTokens prompt tokens looked up in the prefix cache
 * @param prefixHitTokens positions attached from the prefix cache instead of being recomputed
 * @param evictions prefix-cached blocks evicted to make room
 * @param preemptions sequences preempted under memory pressure
 * @param bytesBudget the memory budget in bytes ({@code blocksTotal * bytes per block})
 * @param chunks allocated chunks
 */
public record KvCacheStats(int blocksTotal, int blocksUsed, int blocksFree, int blocksCached, long tokens,
                           long bytesReserved, long bytesUsed, double utilization, int sequences,
                           long prefixQueryTokens, long prefixHitTokens, long evictions, long preemptions,
                           long bytesBudget, int chunks) {

    /** Fraction of queried prompt tokens served from the prefix cache (0 when nothing was queried). */
    public double prefixHitRate() {
        return prefixQueryTokens == 0 ? 0.0 : (double) prefixHitTokens / prefixQueryTokens;
    }
}
