package io.kvcache.sampling;

import org.jspecify.annotations.Nullable;

/**
 * How a {@link Sampler} chooses tokens. Immutable and thread-safe; build with {@link #builder()}.
 * Defaults are llama.cpp's: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalties
 * (repetition 1.0, frequency 0, presence 0) over the last 64 tokens, random seed.
 *
 * @param temperature divides logits before the draw; 0 means greedy (argmax, ties to the lower id)
 * @param topK keep the k most likely tokens; 0 disables
 * @param topP keep the smallest most-likely set whose probability reaches p; 1 disables
 * @param minP keep tokens at least {@code minP} times as likely as the most likely one; 0 disables
 * @param repetitionPenalty logits of recent tokens: positive ones divided, negative ones multiplied; 1 disables
 * @param frequencyPenalty subtracted from a recent token's logit once per occurrence; 0 disables
 * @param presencePenalty subtracted once from the logit of any recent token; 0 disables
 * @param penaltyLastN how many recent accepted tokens the penalties look at; 0 disables penalties
 * @param seed seed of the random draw, for reproducible choices; null picks a random seed
 */
public record SamplerSettings(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        float frequencyPenalty,
        float presencePenalty,
        int penaltyLastN,
        @Nullable Long seed) {

    public SamplerSettings {
        require(Float.isFinite(temperature) && temperature >= 0,
                "temperature must be finite and >= 0 (0 = greedy), got " + temperature);
        require(topK >= 0, "topK must be >= 0 (0 = disabled), got " + topK);
        require(topP > 0 && topP <= 1, "topP must be in (0, 1] (1 = disabled), got " + topP);
        require(minP >= 0 && minP <= 1, "minP must be in [0, 1] (0 = disabled), got " + minP);
        require(Float.isFinite(repetitionPenalty) && repetitionPenalty > 0,
                "repetitionPenalty must be finite and > 0 (1 = disabled), got " + repetitionPenalty);
        require(Float.isFinite(frequencyPenalty), "frequencyPenalty must be finite (0 = disabled), got " + frequencyPenalty);
        require(Float.isFinite(presencePenalty), "presencePenalty must be finite (0 = disabled), got " + presencePenalty);
        require(penaltyLastN >= 0, "penaltyLastN must be >= 0 (0 = no penalties), got " + penaltyLastN);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /** llama.cpp's defaults (see the type's documentation). */
    public static SamplerSettings defaults() {
        return builder().build();
    }

    /** Greedy decoding: always the most likely token, ties to the lower id. */
    public static SamplerSettings greedy() {
        return builder().temperature(0).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from these settings. */
    public Builder toBuilder() {
        return new Builder()
                .temperature(temperature).topK(topK).topP(topP).minP(minP)
                .repetitionPenalty(repetitionPenalty).frequencyPenalty(frequencyPenalty)
                .presencePenalty(presencePenalty).penaltyLastN(penaltyLastN).seed(seed);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    boolean hasPenalties() {
        return penaltyLastN > 0 && (repetitionPenalty != 1 || frequencyPenalty != 0 || presencePenalty != 0);
    }

    /** Mutable builder with llama.cpp's defaults; validation happens in {@link #build()}. Not thread-safe. */
    public static final class Builder {
        private float temperature = 0.8f;
        private int topK = 40;
        private float topP = 0.95f;
        private float minP = 0.05f;
        private float repetitionPenalty = 1.0f;
        private float frequencyPenalty = 0.0f;
        private float presencePenalty = 0.0f;
        private int penaltyLastN = 64;
        private @Nullable Long seed;

        private Builder() {
        }

        public Builder temperature(float temperature) {
            this.temperature = temperature;
            return this;
        }

        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        public Builder topP(float topP) {
            this.topP = topP;
            return this;
        }

        public Builder minP(float minP) {
            this.minP = minP;
            return this;
        }

        public Builder repetitionPenalty(float repetitionPenalty) {
            this.repetitionPenalty = repetitionPenalty;
            return this;
        }

        public Builder frequencyPenalty(float frequencyPenalty) {
            this.frequencyPenalty = frequencyPenalty;
            return this;
        }

        public Builder presencePenalty(float presencePenalty) {
            this.presencePenalty = presencePenalty;
            return this;
        }

        public Builder penaltyLastN(int penaltyLastN) {
            this.penaltyLastN = penaltyLastN;
            return this;
        }

        public Builder seed(@Nullable Long seed) {
            this.seed = seed;
            return this;
        }

        /** Same as {@code seed(Long)}, for callers with a primitive. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid setting and its valid range */
        public SamplerSettings build() {
            return new SamplerSettings(temperature, topK, topP, minP, repetitionPenalty, frequencyPenalty,
                    presencePenalty, penaltyLastN, seed);
        }
    }
}
