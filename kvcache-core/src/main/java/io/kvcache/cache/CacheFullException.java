package io.kvcache.cache;

/**
 * No block (or no sequence slot) can be had under the configured strategy. The message names the
 * limit that was hit and the setting that raises it ({@code KvCache.Builder.memoryBudget} /
 * {@code kvcache.cache.memory-budget}, or {@code maxSequences} / {@code kvcache.cache.max-sequences}).
 * Whatever operation threw it changed nothing.
 *
 * <p>Like any exception, safe to share between threads once thrown.
 */
public class CacheFullException extends KvCacheException {
    private static final long serialVersionUID = 1L;

    public CacheFullException(String message) {
        super(message);
    }
}
