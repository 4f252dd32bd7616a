package io.kvcache.inference;

/**
 * How an engine runs. Immutable and thread-safe.
 *
 * @param threads compute threads for matrix products and attention (the calling thread counts as
 *     one); at least 1
 * @param maxBatchSize how many concurrent generations one decode step serves at most. Threads that
 *     decode one token each at the same time (e.g. several {@link Generator} requests) share one
 *     batched forward pass that reads every weight once for all of them, instead of taking turns;
 *     more wait for the next step. 1 disables batching (every call runs its own pass). Prompts
 *     (several tokens) always run on their own. At least 1; default {@value #DEFAULT_MAX_BATCH_SIZE}
 */
public record EngineOptions(int threads, int maxBatchSize) {
    /** Decode steps serve up to this many sequences unless told otherwise. */
    public static final int DEFAULT_MAX_BATCH_SIZE = 8;

    public EngineOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, is " + threads);
        }
        if (maxBatchSize < 1) {
            throw new IllegalArgumentException("maxBatchSize must be at least 1 (1 disables batching), is "
                    + maxBatchSize);
        }
    }

    /** {@code threads} compute threads, batches of up to {@value #DEFAULT_MAX_BATCH_SIZE}. */
    public EngineOptions(int threads) {
        this(threads, DEFAULT_MAX_BATCH_SIZE);
    }

    /** One thread per available processor, batches of up to {@value #DEFAULT_MAX_BATCH_SIZE}. */
    public static EngineOptions defaults() {
        return new EngineOptions(Runtime.getRuntime().availableProcessors());
    }

    public EngineOptions withThreads(int n) {
        return new EngineOptions(n, maxBatchSize);
    }

    /** These options with another {@link #maxBatchSize()}; 1 disables batching. */
    public EngineOptions withMaxBatchSize(int n) {
        return new EngineOptions(threads, n);
    }
}
