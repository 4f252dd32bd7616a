package io.kvcache.inference;

/**
 * How an engine runs. Immutable.
 *
 * @param threads compute threads for matrix products and attention (the calling thread counts as
 *     one); at least 1
 */
public record EngineOptions(int threads) {

    public EngineOptions {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, is " + threads);
        }
    }

    /** One thread per available processor. */
    public static EngineOptions defaults() {
        return new EngineOptions(Runtime.getRuntime().availableProcessors());
    }

    public EngineOptions withThreads(int n) {
        return new EngineOptions(n);
    }
}
