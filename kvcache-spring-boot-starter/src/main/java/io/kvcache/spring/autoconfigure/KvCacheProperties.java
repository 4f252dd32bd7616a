package io.kvcache.spring.autoconfigure;

import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvElementType;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.sampling.SamplerSettings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * Configuration of the kvcache starter, bound from {@code kvcache.*}.
 *
 * <p>Three modes: with {@code kvcache.model.path} or {@code kvcache.model.url} the starter loads a
 * model and sizes the cache from it; with only the four {@code kvcache.cache} dimensions
 * ({@code layers}, {@code context-length}, {@code kv-heads}, {@code head-dim}) it builds a stand-alone
 * cache; with neither it creates nothing (unless the application defines its own
 * {@code InferenceEngine} bean, which the cache is then sized from).
 *
 * <p>Not thread-safe: a mutable JavaBean that Spring binds once at startup; treat it as read-only
 * afterwards.
 */
@ConfigurationProperties("kvcache")
public class KvCacheProperties {

    /**
     * Compute threads of the inference engine (matrix products and attention). Defaults to the
     * number of available processors.
     */
    private @Nullable Integer threads;

    /**
     * Most concurrent generations decoded together in one batched step (continuous batching: each
     * weight is read once per step for all of them). 1 turns batching off.
     */
    private int maxBatchSize = EngineOptions.DEFAULT_MAX_BATCH_SIZE;

    /**
     * Whether products with Q8_0 and Q4_0 weights round the activations to Q8_0 first, as llama.cpp
     * does: faster, and logits that match llama.cpp's. False keeps F32 activations (slower; batched
     * steps then equal unbatched ones to float rounding).
     */
    private boolean quantizeActivations = true;

    private final Model model = new Model();

    private final Cache cache = new Cache();

    private final Generation generation = new Generation();

    public @Nullable Integer getThreads() {
        return threads;
    }

    public void setThreads(@Nullable Integer threads) {
        this.threads = threads;
    }

    public int getMaxBatchSize() {
        return maxBatchSize;
    }

    public void setMaxBatchSize(int maxBatchSize) {
        this.maxBatchSize = maxBatchSize;
    }

    public boolean isQuantizeActivations() {
        return quantizeActivations;
    }

    public void setQuantizeActivations(boolean quantizeActivations) {
        this.quantizeActivations = quantizeActivations;
    }

    /** The configured thread count, or the number of available processors when unset. */
    public int effectiveThreads() {
        return threads != null ? threads : Runtime.getRuntime().availableProcessors();
    }

    public Model getModel() {
        return model;
    }

    public Cache getCache() {
        return cache;
    }

    public Generation getGeneration() {
        return generation;
    }

    /** Where the model comes from. Not thread-safe (bound once at startup). */
    public static class Model {

        /**
         * Local GGUF model file to load. Relative paths resolve against the working directory.
         * Mutually exclusive with kvcache.model.url.
         */
        private @Nullable Path path;

        /**
         * HTTP(S) address of a GGUF model file. It is downloaded once into kvcache.model.cache-dir
         * (resuming an interrupted download with an HTTP Range request) and loaded from there.
         * Mutually exclusive with kvcache.model.path.
         */
        private @Nullable URI url;

        /**
         * Directory that downloaded models are kept in. Defaults to
         * ${user.home}/.cache/kvcache/models.
         */
        private Path cacheDir = Path.of(System.getProperty("user.home"), ".cache", "kvcache", "models");

        /**
         * Expected SHA-256 digest (64 hex digits) of the model file; when set, a downloaded or
         * cached file whose digest differs is rejected and deleted.
         */
        private @Nullable String sha256;

        /** Timeout for connecting to the server that kvcache.model.url points at. */
        private Duration connectTimeout = Duration.ofSeconds(30);

        /**
         * Longest time to wait for the server to start answering a download request (response
         * headers); the transfer itself may take longer.
         */
        private Duration requestTimeout = Duration.ofMinutes(2);

        public @Nullable Path getPath() {
            return path;
        }

        public void setPath(@Nullable Path path) {
            this.path = path;
        }

        public @Nullable URI getUrl() {
            return url;
        }

        public void setUrl(@Nullable URI url) {
            this.url = url;
        }

        public Path getCacheDir() {
            return cacheDir;
        }

        public void setCacheDir(Path cacheDir) {
            this.cacheDir = cacheDir;
        }

        public @Nullable String getSha256() {
            return sha256;
        }

        public void setSha256(@Nullable String sha256) {
            this.sha256 = sha256;
        }

        public Duration getConnectTimeout() {
            return connectTimeout;
        }

        public void setConnectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
        }

        public Duration getRequestTimeout() {
            return requestTimeout;
        }

        public void setRequestTimeout(Duration requestTimeout) {
            this.requestTimeout = requestTimeout;
        }

        /** Whether a model path or URL is configured. */
        public boolean isConfigured() {
            return path != null || url != null;
        }
    }

    /** The KV cache's shape, budget and policy. Not thread-safe (bound once at startup). */
    public static class Cache {

        /**
         * Transformer layers whose keys and values are cached. Required without a model; with a
         * model it must equal the model's value (or be left unset).
         */
        private @Nullable Integer layers;

        /**
         * Positions one sequence can hold (its capacity). Required without a model; with a model it
         * defaults to the model's trained context length and may be smaller, not larger.
         */
        private @Nullable Integer contextLength;

        /**
         * Key/value heads per layer. Required without a model; with a model it must equal the
         * model's value (or be left unset).
         */
        private @Nullable Integer kvHeads;

        /**
         * Elements per attention head. Required without a model; with a model it must equal the
         * model's value (or be left unset).
         */
        private @Nullable Integer headDim;

        /** Storage type of cached keys: F32 (exact), F16 or Q8_0 (head-dim must be a multiple of 32). */
        private KvElementType keyType = KvElementType.F32;

        /** Storage type of cached values: F32 (exact), F16 or Q8_0 (head-dim must be a multiple of 32). */
        private KvElementType valueType = KvElementType.F32;

        /** Positions per block: the unit of allocation, sharing and prefix caching. */
        private int blockSize = KvCacheSpec.DEFAULT_BLOCK_SIZE;

        /**
         * Off-heap memory the cache may use, rounded down to whole blocks and allocated lazily.
         * Defaults to max-sequences full contexts. Must hold at least one block.
         */
        private @Nullable DataSize memoryBudget;

        /** Largest number of sequences (concurrent generations and sessions) open at once. */
        private int maxSequences = 16;

        /**
         * What the cache keeps and what happens under memory pressure: always (keep everything,
         * fail when full), adaptive (preempt other sequences when full), disabled (recompute every
         * step) or long-sequence-only (keep sequences of at least long-sequence-threshold tokens).
         */
        private Strategy strategy = Strategy.ALWAYS;

        /** Smallest sequence length (tokens) kept by the long-sequence-only strategy. */
        private int longSequenceThreshold = 256;

        /**
         * Sliding attention window in positions: attention sees the last sliding-window positions
         * plus the first sink-tokens. Unset or 0 means attention sees the whole sequence.
         */
        private int slidingWindow;

        /** Leading positions that stay visible to attention when a sliding window is set. */
        private int sinkTokens;

        /** Whether full blocks of prompts are indexed and reused by later prompts with the same prefix. */
        private boolean prefixCaching = true;

        public @Nullable Integer getLayers() {
            return layers;
        }

        public void setLayers(@Nullable Integer layers) {
            this.layers = layers;
        }

        public @Nullable Integer getContextLength() {
            return contextLength;
        }

        public void setContextLength(@Nullable Integer contextLength) {
            this.contextLength = contextLength;
        }

        public @Nullable Integer getKvHeads() {
            return kvHeads;
        }

        public void setKvHeads(@Nullable Integer kvHeads) {
            this.kvHeads = kvHeads;
        }

        public @Nullable Integer getHeadDim() {
            return headDim;
        }

        public void setHeadDim(@Nullable Integer headDim) {
            this.headDim = headDim;
        }

        public KvElementType getKeyType() {
            return keyType;
        }

        public void setKeyType(KvElementType keyType) {
            this.keyType = keyType;
        }

        public KvElementType getValueType() {
            return valueType;
        }

        public void setValueType(KvElementType valueType) {
            this.valueType = valueType;
        }

        public int getBlockSize() {
            return blockSize;
        }

        public void setBlockSize(int blockSize) {
            this.blockSize = blockSize;
        }

        public @Nullable DataSize getMemoryBudget() {
            return memoryBudget;
        }

        public void setMemoryBudget(@Nullable DataSize memoryBudget) {
            this.memoryBudget = memoryBudget;
        }

        public int getMaxSequences() {
            return maxSequences;
        }

        public void setMaxSequences(int maxSequences) {
            this.maxSequences = maxSequences;
        }

        public Strategy getStrategy() {
            return strategy;
        }

        public void setStrategy(Strategy strategy) {
            this.strategy = strategy;
        }

        public int getLongSequenceThreshold() {
            return longSequenceThreshold;
        }

        public void setLongSequenceThreshold(int longSequenceThreshold) {
            this.longSequenceThreshold = longSequenceThreshold;
        }

        public int getSlidingWindow() {
            return slidingWindow;
        }

        public void setSlidingWindow(int slidingWindow) {
            this.slidingWindow = slidingWindow;
        }

        public int getSinkTokens() {
            return sinkTokens;
        }

        public void setSinkTokens(int sinkTokens) {
            this.sinkTokens = sinkTokens;
        }

        public boolean isPrefixCaching() {
            return prefixCaching;
        }

        public void setPrefixCaching(boolean prefixCaching) {
            this.prefixCaching = prefixCaching;
        }

        /** Whether any of the four dimensions is set. */
        public boolean hasAnyDimension() {
            return layers != null || contextLength != null || kvHeads != null || headDim != null;
        }

        /** The core strategy this configuration names. */
        public CacheStrategy toCacheStrategy() {
            return switch (strategy) {
                case ALWAYS -> CacheStrategy.ALWAYS;
                case ADAPTIVE -> CacheStrategy.ADAPTIVE;
                case DISABLED -> CacheStrategy.DISABLED;
                case LONG_SEQUENCE_ONLY -> CacheStrategy.longSequenceOnly(longSequenceThreshold);
            };
        }
    }

    /** Names of the cache strategies for {@code kvcache.cache.strategy}. Immutable and thread-safe. */
    public enum Strategy {
        /** Keep every sequence; fail when the budget is exhausted. */
        ALWAYS,
        /** Keep every sequence while memory allows; preempt other sequences under pressure. */
        ADAPTIVE,
        /** Keep nothing: recompute the whole sequence every step. */
        DISABLED,
        /** Keep sequences of at least {@code long-sequence-threshold} tokens. */
        LONG_SEQUENCE_ONLY
    }

    /**
     * Defaults for generation requests. Call {@link #toSamplerSettings()} or
     * {@link #requestBuilder()} to apply them. Not thread-safe (bound once at startup).
     */
    public static class Generation {

        /** Largest number of tokens a generation produces when the request does not say. */
        private int maxTokens = GenerationRequest.DEFAULT_MAX_TOKENS;

        /** Sampling temperature; 0 means greedy decoding. */
        private float temperature = 0.8f;

        /** Nucleus sampling: keep the smallest most-likely set whose probability reaches top-p; 1 disables. */
        private float topP = 0.95f;

        /** Keep only the top-k most likely tokens; 0 disables. */
        private int topK = 40;

        /** Keep tokens at least min-p times as likely as the most likely one; 0 disables. */
        private float minP = 0.05f;

        /** Penalty for recently generated tokens; 1 disables. */
        private float repetitionPenalty = 1.0f;

        /** Seed of the random draw for reproducible output; unset picks a random seed per request. */
        private @Nullable Long seed;

        /** Strings that end a generation when produced (not included in the text). */
        private List<String> stop = new ArrayList<>();

        public int getMaxTokens() {
            return maxTokens;
        }

        public void setMaxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
        }

        public float getTemperature() {
            return temperature;
        }

        public void setTemperature(float temperature) {
            this.temperature = temperature;
        }

        public float getTopP() {
            return topP;
        }

        public void setTopP(float topP) {
            this.topP = topP;
        }

        public int getTopK() {
            return topK;
        }

        public void setTopK(int topK) {
            this.topK = topK;
        }

        public float getMinP() {
            return minP;
        }

        public void setMinP(float minP) {
            this.minP = minP;
        }

        public float getRepetitionPenalty() {
            return repetitionPenalty;
        }

        public void setRepetitionPenalty(float repetitionPenalty) {
            this.repetitionPenalty = repetitionPenalty;
        }

        public @Nullable Long getSeed() {
            return seed;
        }

        public void setSeed(@Nullable Long seed) {
            this.seed = seed;
        }

        public List<String> getStop() {
            return stop;
        }

        public void setStop(List<String> stop) {
            this.stop = stop;
        }

        /**
         * The sampler settings these defaults describe.
         *
         * @throws IllegalArgumentException naming the first out-of-range setting
         */
        public SamplerSettings toSamplerSettings() {
            return SamplerSettings.builder()
                    .temperature(temperature)
                    .topP(topP)
                    .topK(topK)
                    .minP(minP)
                    .repetitionPenalty(repetitionPenalty)
                    .seed(seed)
                    .build();
        }

        /**
         * A request builder preset with these defaults (sampling, max tokens, stop strings); add a
         * prompt and build.
         */
        public GenerationRequest.Builder requestBuilder() {
            return GenerationRequest.builder()
                    .sampling(toSamplerSettings())
                    .maxTokens(maxTokens)
                    .stopStrings(stop);
        }
    }
}
