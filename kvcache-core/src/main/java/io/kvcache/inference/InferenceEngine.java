package io.kvcache.inference;

import io.kvcache.cache.CacheFullException;
import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.cache.SequencePreemptedException;
import io.kvcache.gguf.GgufFile;
import io.kvcache.model.LlamaModel;
import io.kvcache.model.LlamaWeights;
import io.kvcache.model.ModelConfig;
import io.kvcache.model.UnsupportedModelException;
import io.kvcache.tensor.ComputePool;
import io.kvcache.tokenizer.ChatTemplate;
import io.kvcache.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * A loaded model: the memory-mapped GGUF file, its configuration and weights, and a compute pool.
 *
 * <pre>{@code
 * try (InferenceEngine engine = InferenceEngine.load(Path.of("model.gguf"));
 *      KvCache cache = engine.createKvCache();
 *      KvSequence seq = cache.newSequence()) {
 *     float[] logits = engine.forward(seq, new int[] {1, 403, 407});
 * }
 * }</pre>
 *
 * <p>Thread-safe: any number of threads may call {@link #forward} at once, each with its own
 * sequence. Concurrent one-token calls (decode steps) are batched: they share one forward pass
 * that reads every weight once for all of them (see {@link EngineOptions#maxBatchSize()});
 * multi-token calls (prompts) run on their own. {@link #close()} unmaps the model; call it only
 * when no forward pass runs (callers still waiting for a batched step get an
 * {@link IllegalStateException}).
 */
public final class InferenceEngine implements AutoCloseable {
    private final GgufFile file;
    private final ModelConfig config;
    private final LlamaModel model;
    private final ComputePool pool;
    private final @Nullable Tokenizer tokenizer;
    private final @Nullable RuntimeException tokenizerProblem;
    private final ChatTemplate chatTemplate;
    private final @Nullable DecodeBatcher batcher;
    private final EngineOptions options;

    private InferenceEngine(GgufFile file, EngineOptions options) {
        this.file = file;
        this.options = options;
        this.config = ModelConfig.from(file);
        LlamaWeights weights = LlamaWeights.load(file, config);
        Tokenizer t = null;
        RuntimeException problem = null;
        try {
            t = Tokenizer.fromGguf(file.metadata());
        } catch (RuntimeException e) {
            problem = e;
        }
        this.tokenizer = t;
        this.tokenizerProblem = problem;
        this.chatTemplate = ChatTemplate.detect(file.metadata(), ChatTemplate.CHATML);
        this.pool = ComputePool.create(options.threads());
        this.model = new LlamaModel(config, weights, pool, options.quantizeActivations());
        this.batcher = options.maxBatchSize() > 1 ? new DecodeBatcher(model, options.maxBatchSize()) : null;
    }

    /** Loads a model with default options (one compute thread per processor). */
    public static InferenceEngine load(Path path) {
        return load(path, EngineOptions.defaults());
    }

    /**
     * Loads a model: maps the file, validates it, reads the configuration and binds the weights.
     *
     * @throws io.kvcache.gguf.GgufFormatException when the file is not valid GGUF
     * @throws io.kvcache.model.UnsupportedModelException when the model cannot run here
     * @throws java.io.UncheckedIOException when the file cannot be read
     */
    public static InferenceEngine load(Path path, EngineOptions options) {
        GgufFile file = GgufFile.open(path);
        try {
            return new InferenceEngine(file, options);
        } catch (RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    /** Wraps an already-open file (e.g. a synthetic model in memory); the engine closes it. */
    public static InferenceEngine of(GgufFile file, EngineOptions options) {
        try {
            return new InferenceEngine(file, options);
        } catch (RuntimeException | Error e) {
            file.close();
            throw e;
        }
    }

    public ModelConfig config() {
        return config;
    }

    public GgufFile file() {
        return file;
    }

    /**
     * The tokenizer built from the model's {@code tokenizer.ggml.*} metadata.
     *
     * @throws io.kvcache.model.UnsupportedModelException when the file has no usable tokenizer
     */
    public Tokenizer tokenizer() {
        if (tokenizer == null) {
            throw new UnsupportedModelException(file.name() + " has no usable tokenizer: "
                    + (tokenizerProblem == null ? "missing metadata" : tokenizerProblem.getMessage()), tokenizerProblem);
        }
        return tokenizer;
    }

    /** The chat template named by {@code tokenizer.chat_template}, or ChatML when the file has none. */
    public ChatTemplate chatTemplate() {
        return chatTemplate;
    }

    /** The options this engine was created with. */
    public EngineOptions options() {
        return options;
    }

    /** The most concurrent decode steps one batched forward pass serves; 1 when batching is off. */
    public int maxBatchSize() {
        return batcher == null ? 1 : batcher.maxBatchSize();
    }

    /** Compute threads in use. */
    public int threads() {
        return pool.threads();
    }

    /** The cache geometry this model needs, at its full context length, F32 K/V. */
    public KvCacheSpec kvCacheSpec() {
        return kvCacheSpec(config.contextLength(), KvElementType.F32);
    }

    /** The cache geometry for a (possibly smaller) context and another K/V element type. */
    public KvCacheSpec kvCacheSpec(int contextLength, KvElementType elementType) {
        return KvCacheSpec.builder()
                .layers(config.layers())
                .kvHeads(config.kvHeads())
                .headDim(config.headDim())
                .contextLength(contextLength)
                .elementType(elementType)
                .build();
    }

    /** A builder preset for this model, to set budget, strategy, sequences, window... */
    public KvCache.Builder kvCacheBuilder() {
        return KvCache.builder(kvCacheSpec());
    }

    /** A cache for this model at full context with F32 K/V and default settings. */
    public KvCache createKvCache() {
        return kvCacheBuilder().build();
    }

    /** A cache for this model with a smaller context and/or another K/V element type. */
    public KvCache createKvCache(int contextLength, KvElementType elementType) {
        return KvCache.builder(kvCacheSpec(contextLength, elementType)).build();
    }

    /**
     * Feeds {@code tokens} after what the sequence holds and returns the logits of the last one.
     * Honours the cache strategy: when the strategy does not keep a sequence of this length, or
     * the sequence was preempted (also while this call runs), its whole history is recomputed.
     * Under {@code ADAPTIVE}, when no block is free and every other sequence is in the middle of a
     * step, it waits (up to 30 s) for one to become preemptable rather than failing.
     *
     * @throws io.kvcache.cache.CacheFullException when memory cannot be had under the strategy
     * @throws io.kvcache.cache.ContextLengthExceededException when the tokens do not fit the context
     */
    public float[] forward(KvSequence sequence, int[] tokens) {
        float[] logits = new float[config.vocabularySize()];
        run(sequence, tokens, false, logits);
        return logits;
    }

    /**
     * Like {@link #forward(KvSequence, int[])} but writes the logits of the last token into
     * {@code logitsOut[0 .. vocabularySize)} instead of a new array: a decode loop that reuses its
     * buffer allocates nothing per token in the engine and the model.
     *
     * @throws IllegalArgumentException when {@code logitsOut} is shorter than the vocabulary
     * @throws io.kvcache.cache.CacheFullException when memory cannot be had under the strategy
     * @throws io.kvcache.cache.ContextLengthExceededException when the tokens do not fit the context
     */
    public void forward(KvSequence sequence, int[] tokens, float[] logitsOut) {
        if (logitsOut.length < config.vocabularySize()) {
            throw new IllegalArgumentException("logitsOut has " + logitsOut.length + " floats but the vocabulary has "
                    + config.vocabularySize() + "; pass an array of at least config().vocabularySize() floats");
        }
        run(sequence, tokens, false, logitsOut);
    }

    /** Like {@link #forward} but returns logits of every new position, row-major. */
    public float[] forwardAll(KvSequence sequence, int[] tokens) {
        float[] logits = new float[tokens.length * config.vocabularySize()];
        run(sequence, tokens, true, logits);
        return logits;
    }

    /** Preemptions of one forward call after which it gives up (the cache is thrashing). */
    private static final int MAX_PREEMPTED_RETRIES = 32;
    /** How long a forward call under ADAPTIVE waits for memory before it reports the cache full. */
    private static final long ADAPTIVE_WAIT_NANOS = 30_000_000_000L;

    private void run(KvSequence sequence, int[] tokens, boolean allLogits, float[] logits) {
        checkSpec(sequence);
        // What the sequence holds, or held before a preemption dropped it: read only when a
        // recompute needs it (a steady decode step never does), and then once, before the first
        // recompute clears the sequence: a failed attempt may already have cleared it, so a retry
        // must not read it back.
        int @Nullable [] history = null;
        boolean recompute = false;
        int preemptions = 0;
        long waitingSince = 0;
        while (true) {
            try {
                if (!recompute) {
                    recompute = sequence.isPreempted() || mustRecompute(sequence, tokens.length);
                }
                if (recompute) {
                    if (history == null) {
                        history = sequence.tokens();
                    }
                    recompute(sequence, history, tokens, allLogits, logits);
                } else if (batcher != null && tokens.length == 1 && !allLogits) {
                    batcher.decode(sequence, tokens, logits);
                } else {
                    model.forward(sequence, tokens, allLogits, logits);
                }
                return;
            } catch (SequencePreemptedException e) {
                // Another sequence took our blocks between our check and our writes: recompute.
                recompute = true;
                if (++preemptions > MAX_PREEMPTED_RETRIES) {
                    throw e;
                }
            } catch (CacheFullException e) {
                // ADAPTIVE preempts only idle sequences; when every other one is in the middle of a
                // step, wait for one to finish its step (or its generation) instead of failing.
                if (sequence.strategy() != CacheStrategy.ADAPTIVE) {
                    throw e;
                }
                long now = System.nanoTime();
                if (waitingSince == 0) {
                    waitingSince = now;
                } else if (now - waitingSince > ADAPTIVE_WAIT_NANOS) {
                    throw e;
                }
                LockSupport.parkNanos(1_000_000);
            }
        }
    }

    /** Whether the strategy does not keep a sequence this long (then every step recomputes it). */
    private static boolean mustRecompute(KvSequence sequence, int newTokens) {
        int length = sequence.length();
        return length > 0 && !sequence.strategy().keepsSequenceOf(length + newTokens);
    }

    /** Runs the whole history and the new tokens from an empty sequence; writes the new tokens' logits. */
    private void recompute(KvSequence sequence, int[] history, int[] tokens, boolean allLogits, float[] out) {
        sequence.clear();
        if (!allLogits) {
            model.forward(sequence, concat(history, tokens), false, out);
            return;
        }
        float[] logits = model.forward(sequence, concat(history, tokens), true);
        System.arraycopy(logits, history.length * config.vocabularySize(), out, 0, out.length);
    }

    /** What the decode batcher has done, or null when batching is off. */
    DecodeBatcher.@Nullable Stats batchStats() {
        return batcher == null ? null : batcher.stats();
    }

    /** Calls waiting for a batched step (not yet in one); 0 when batching is off. For tests. */
    int batchQueueLength() {
        return batcher == null ? 0 : batcher.queueLength();
    }

    /** Tells the batcher that this sequence's generation ended, so a step does not wait for it. */
    void decodingEnded(KvSequence sequence) {
        if (batcher != null) {
            batcher.forget(sequence);
        }
    }

    static int[] concat(int[] a, int[] b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private void checkSpec(KvSequence sequence) {
        KvCacheSpec spec = sequence.spec();
        if (spec.layers() != config.layers() || spec.kvHeads() != config.kvHeads() || spec.headDim() != config.headDim()) {
            throw new IllegalArgumentException("the sequence's cache has layers=" + spec.layers() + ", kvHeads="
                    + spec.kvHeads() + ", headDim=" + spec.headDim() + " but the model needs layers=" + config.layers()
                    + ", kvHeads=" + config.kvHeads() + ", headDim=" + config.headDim()
                    + "; create the cache with engine.createKvCache()");
        }
    }

    /** Wakes callers waiting for a batched step (they throw), stops the compute threads and unmaps the model file. */
    @Override
    public void close() {
        if (batcher != null) {
            batcher.close();
        }
        pool.close();
        file.close();
    }

    @Override
    public String toString() {
        return "InferenceEngine[" + config.name() + ", " + config.architecture() + ", " + config.layers() + " layers]";
    }
}
