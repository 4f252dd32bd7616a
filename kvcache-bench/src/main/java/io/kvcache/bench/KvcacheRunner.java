package io.kvcache.bench;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.inference.InferenceEngine;
import java.util.Objects;

/**
 * Measures prompt processing and decoding of one loaded kvcache engine, the way llama-bench does:
 * a prompt of N tokens in one forward pass, and one-token decode steps after a prompt of a given
 * depth (greedy: the next token is the argmax of the logits, which costs little next to a step).
 *
 * <p>Uses its own cache without prefix caching so repeated prompts are really recomputed. Not
 * thread-safe: one measurement at a time.
 */
public final class KvcacheRunner implements AutoCloseable {
    private final InferenceEngine engine;
    private final KvCache cache;
    private final AllocationMeter meter = new AllocationMeter();
    private final int[] step = new int[1];
    /** Reused by every decode step, as a generation loop does: the allocation figure is then the engine's. */
    private final float[] logits;

    /**
     * @param contextLength the cache's context (prompt depth plus decode steps must fit)
     * @param kvType how K/V are stored (llama.cpp's default is F16)
     */
    public KvcacheRunner(InferenceEngine engine, int contextLength, KvElementType kvType) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.cache = KvCache.builder(engine.kvCacheSpec(contextLength, kvType)).maxSequences(2).prefixCaching(false)
                .build();
        this.logits = new float[engine.config().vocabularySize()];
    }

    /**
     * The outcome of a decode measurement. Immutable and thread-safe.
     *
     * @param allocatedBytesPerToken heap bytes all threads allocated per decode step (-1 when the
     *     JVM cannot count them)
     * @param collections garbage collections during the steps
     * @param collectionMillis time spent in them
     */
    public record Decode(double tokensPerSecond, int steps, long allocatedBytesPerToken, long collections,
                         long collectionMillis) {
    }

    /** Runs a short prompt and a few decode steps so that the JIT compiles the kernels of this model. */
    public void warmUp(int[] prompt, int decodeSteps) {
        promptSeconds(prompt);
        decode(prompt, decodeSteps);
    }

    /** Median tokens/s of {@code reps} forward passes of the whole prompt into an empty sequence. */
    public double promptThroughput(int[] prompt, int reps) {
        double[] rates = new double[reps];
        for (int i = 0; i < reps; i++) {
            rates[i] = prompt.length / promptSeconds(prompt);
        }
        return Stats.median(rates);
    }

    private double promptSeconds(int[] prompt) {
        try (KvSequence seq = cache.newSequence()) {
            long t0 = System.nanoTime();
            engine.forward(seq, prompt);
            return (System.nanoTime() - t0) / 1e9;
        }
    }

    /**
     * Feeds {@code prompt} (not timed), then times {@code steps} one-token decode steps into one
     * reused logits buffer, and counts what the JVM allocated per step (all threads).
     */
    public Decode decode(int[] prompt, int steps) {
        try (KvSequence seq = cache.newSequence()) {
            engine.forward(seq, prompt, logits);
            step[0] = Stats.argmax(logits);
            meter.start();
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                engine.forward(seq, step, logits);
                step[0] = Stats.argmax(logits);
            }
            long elapsed = System.nanoTime() - t0;
            long bytes = meter.allocatedBytes();
            return new Decode(steps / (elapsed / 1e9), steps, bytes < 0 ? -1 : bytes / steps,
                    meter.collectionsSinceStart(), meter.collectionMillisSinceStart());
        }
    }

    @Override
    public void close() {
        cache.close();
    }
}
