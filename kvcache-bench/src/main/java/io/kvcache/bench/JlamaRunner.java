package io.kvcache.bench;

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Measures Jlama on a model directory written by {@link JlamaModelFiles}, the way
 * {@link KvcacheRunner} measures kvcache: a prompt of N token ids in one batched forward pass into
 * an empty KV buffer, and greedy one-token decode steps after a prompt of a given depth. Jlama works
 * in F32 with activations quantized to 8 bits for Q4 weights (its defaults); its compute pool has
 * the given thread count. Not thread-safe: one measurement at a time.
 */
final class JlamaRunner implements AutoCloseable {
    /** Threads of Jlama's per-JVM compute pool once a model was loaded; 0 before. */
    private static int poolThreads;

    private final AbstractModel model;
    private final KvBufferCache cache;
    private final AbstractTensor logits;

    private JlamaRunner(AbstractModel model) {
        this.model = model;
        this.cache = new KvBufferCache(model);
        this.logits = model.makeDenseTensor(model.getConfig().vocabularySize);
    }

    /**
     * Loads the directory with {@code threads} compute threads.
     *
     * @throws IllegalStateException when an earlier model in this JVM ran with another thread count:
     *     Jlama's compute pool is one per JVM and sized once
     */
    static synchronized JlamaRunner load(Path dir, int threads) {
        if (poolThreads != 0 && poolThreads != threads) {
            throw new IllegalStateException("Jlama's compute pool already runs " + poolThreads + " threads in this JVM"
                    + " (it is sized once per JVM); measure " + threads + " threads in another JVM");
        }
        Optional<Integer> size = poolThreads == 0 ? Optional.of(threads) : Optional.empty();
        poolThreads = threads;
        return new JlamaRunner(ModelSupport.loadModel(dir.toFile(), null, DType.F32, DType.I8, Optional.empty(), size));
    }

    /** Median tokens/s of {@code reps} batched forward passes of {@code prompt} into an empty buffer. */
    double promptThroughput(int[] prompt, int reps) {
        double[] rates = new double[reps];
        for (int i = 0; i < reps; i++) {
            try (KvBufferCache.KvBuffer kv = cache.getEphemeralKvBuffer()) {
                long t0 = System.nanoTime();
                AbstractTensor last = model.batchForward(prompt, 0, kv);
                rates[i] = prompt.length / ((System.nanoTime() - t0) / 1e9);
                last.close();
            }
        }
        return Stats.median(rates);
    }

    /**
     * Feeds {@code prompt} (not timed), then times {@code steps} greedy decode steps: each one
     * forward pass of the last token and the argmax of its logits, as {@link KvcacheRunner#decode}.
     *
     * @return tokens per second
     */
    double decode(int[] prompt, int steps) {
        try (KvBufferCache.KvBuffer kv = cache.getEphemeralKvBuffer()) {
            int next = prefill(prompt, kv);
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                AbstractTensor out = model.forward(next, prompt.length + i, kv, Optional.empty());
                next = nextToken(out);
                out.close();
            }
            return steps / ((System.nanoTime() - t0) / 1e9);
        }
    }

    /** The greedy continuation of {@code prompt}: {@code count} token ids. */
    int[] greedy(int[] prompt, int count) {
        int[] out = new int[count];
        try (KvBufferCache.KvBuffer kv = cache.getEphemeralKvBuffer()) {
            int next = prefill(prompt, kv);
            for (int i = 0; i < count; i++) {
                out[i] = next;
                if (i + 1 < count) {
                    AbstractTensor step = model.forward(next, prompt.length + i, kv, Optional.empty());
                    next = nextToken(step);
                    step.close();
                }
            }
        }
        return out;
    }

    /** Feeds {@code prompt} into {@code kv} in one batched pass; returns the greedy next token. */
    private int prefill(int[] prompt, KvBufferCache.KvBuffer kv) {
        AbstractTensor last = model.batchForward(prompt, 0, kv);
        int next = nextToken(last.slice(last.shape().first() - 1));
        last.close();
        return next;
    }

    /** Temperature 0: Jlama's sampler takes the argmax and ignores the uniform sample. */
    private int nextToken(AbstractTensor hidden) {
        return model.sample(hidden, 0f, 0.5f, logits);
    }

    @Override
    public void close() {
        logits.close();
        cache.close();
        model.close();
    }
}
