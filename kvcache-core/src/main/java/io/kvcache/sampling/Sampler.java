package io.kvcache.sampling;

/**
 * Chooses the next token from a row of logits.
 *
 * <p>Feed history with {@link #accept(int)} (prompt tokens and every chosen token) so the
 * penalties see it; {@link #sample(float[], int)} does not accept its own choice. The logits array
 * is never modified. After warm-up a sampler allocates nothing per call (it reuses buffers sized
 * to the vocabulary).
 *
 * <p>Not thread-safe: a sampler holds history, buffers and a random generator; use one per
 * generation stream.
 */
public interface Sampler {

    /** A sampler for these settings. */
    static Sampler create(SamplerSettings settings) {
        return new ChainSampler(settings);
    }

    /**
     * Chooses a token id in {@code [0, vocabSize)} from {@code logits[0 .. vocabSize)}.
     *
     * @throws IllegalArgumentException when {@code vocabSize} is not in {@code [1, logits.length]}
     */
    int sample(float[] logits, int vocabSize);

    /** {@code sample(logits, logits.length)}. */
    default int sample(float[] logits) {
        return sample(logits, logits.length);
    }

    /** Records a token of the sequence (prompt or generated) for the penalties. */
    void accept(int token);

    /**
     * Natural log of the probability of the last sampled token in the distribution it was drawn
     * from (after penalties, truncation and temperature). For greedy sampling, the log-softmax of the
     * penalized logits. NaN before the first call.
     */
    float lastLogProbability();

    /** Forgets the history; the random generator keeps its state. */
    void reset();

    SamplerSettings settings();

    /** The seed in use (the configured one, or the random one picked at creation). */
    long seed();
}
