package io.kvcache.cache;

/**
 * The sequence's K/V were dropped under memory pressure ({@link CacheStrategy#ADAPTIVE}, or a
 * sequence the strategy does not keep). Its token history is still in {@link KvSequence#tokens()}:
 * recompute it by reserving, storing and advancing again.
 *
 * <p>Like any exception, safe to share between threads once thrown.
 */
public class SequencePreemptedException extends KvCacheException {
    private static final long serialVersionUID = 1L;

    public SequencePreemptedException(long sequenceId) {
        super("sequence " + sequenceId + " was preempted under memory pressure and holds no K/V;"
                + " read tokens() and recompute them (reserve/store/advance), or give the cache a"
                + " larger memory budget (KvCache.Builder.memoryBudget / kvcache.cache.memory-budget)");
    }
}
