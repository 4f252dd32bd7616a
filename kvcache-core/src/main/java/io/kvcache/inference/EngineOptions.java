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
 * @param quantizeActivations whether products with Q8_0 and Q4_0 weights first round the
 *     activations to Q8_0 blocks, as llama.cpp does for these types (default true). Decoding is then
 *     faster (integer kernels) and the logits match llama.cpp's closely (to about 1e-5 on the Q8_0
 *     reference model, against 0.5 without). The price: a rounding difference far below float
 *     precision can move an activation across a quantization boundary, so a step batched with other
 *     generations, or recomputed from scratch, may differ from the same step alone by about 1e-3 of
 *     the logit range (llama.cpp behaves the same). False multiplies unrounded F32 activations:
 *     slower, further from llama.cpp, and batched steps equal unbatched ones to float rounding
 */
public record EngineOptions(int threads, int maxBatchSize, boolean quantizeActivations) {
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

    /** {@code threads} compute threads, batches of up to {@code maxBatchSize}, quantized activations. */
    public EngineOptions(int threads, int maxBatchSize) {
        this(threads, maxBatchSize, true);
    }

    /** {@code threads} compute threads, batches of up to {@value #DEFAULT_MAX_BATCH_SIZE}, quantized activations. */
    public EngineOptions(int threads) {
        this(threads, DEFAULT_MAX_BATCH_SIZE);
    }

    /** One thread per available processor, batches of up to {@value #DEFAULT_MAX_BATCH_SIZE}. */
    public static EngineOptions defaults() {
        return new EngineOptions(Runtime.getRuntime().availableProcessors());
    }

    public EngineOptions withThreads(int n) {
        return new EngineOptions(n, maxBatchSize, quantizeActivations);
    }

    /** These options with another {@link #maxBatchSize()}; 1 disables batching. */
    public EngineOptions withMaxBatchSize(int n) {
        return new EngineOptions(threads, n, quantizeActivations);
    }

    /** These options with another {@link #quantizeActivations()} choice. */
    public EngineOptions withQuantizedActivations(boolean quantize) {
        return new EngineOptions(threads, maxBatchSize, quantize);
    }
}
