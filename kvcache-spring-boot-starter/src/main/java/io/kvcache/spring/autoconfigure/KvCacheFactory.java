package io.kvcache.spring.autoconfigure;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;
import org.springframework.util.unit.DataSize;

/**
 * Builds the {@link KvCache} that {@code kvcache.cache.*} describes, sized from a model when there
 * is one, and reports every inconsistency as a {@link KvCacheConfigurationException}. Stateless and
 * thread-safe.
 */
final class KvCacheFactory {
    private static final Log logger = LogFactory.getLog(KvCacheFactory.class);

    private KvCacheFactory() {
    }

    /**
     * The cache shape: the model's layers, KV heads and head dimension when a model is given (the
     * properties must agree), else the four required dimensions from the properties.
     */
    static KvCacheSpec spec(KvCacheProperties.Cache cache, @Nullable ModelConfig model) {
        int layers;
        int kvHeads;
        int headDim;
        int contextLength;
        if (model != null) {
            List<String> mismatches = new ArrayList<>();
            layers = agree("kvcache.cache.layers", cache.getLayers(), model.layers(), model, mismatches);
            kvHeads = agree("kvcache.cache.kv-heads", cache.getKvHeads(), model.kvHeads(), model, mismatches);
            headDim = agree("kvcache.cache.head-dim", cache.getHeadDim(), model.headDim(), model, mismatches);
            Integer context = cache.getContextLength();
            if (context != null && context > model.contextLength()) {
                mismatches.add("kvcache.cache.context-length=" + context + " but the model " + model.name()
                        + " has a context length of " + model.contextLength() + " (the cache may be smaller, not larger)");
            }
            if (!mismatches.isEmpty()) {
                throw new KvCacheConfigurationException("The kvcache.cache dimensions disagree with the model: "
                        + String.join("; ", mismatches),
                        "Remove kvcache.cache.layers, kv-heads and head-dim to take them from the model (or set them to"
                                + " the model's values: layers=" + model.layers() + ", kv-heads=" + model.kvHeads()
                                + ", head-dim=" + model.headDim() + "), and keep kvcache.cache.context-length at most "
                                + model.contextLength() + ".");
            }
            contextLength = context != null ? context : model.contextLength();
        } else {
            List<String> missing = new ArrayList<>();
            if (cache.getLayers() == null) {
                missing.add("kvcache.cache.layers");
            }
            if (cache.getContextLength() == null) {
                missing.add("kvcache.cache.context-length");
            }
            if (cache.getKvHeads() == null) {
                missing.add("kvcache.cache.kv-heads");
            }
            if (cache.getHeadDim() == null) {
                missing.add("kvcache.cache.head-dim");
            }
            if (!missing.isEmpty()) {
                throw new KvCacheConfigurationException("Without a model the KV cache needs all four dimensions, but "
                        + String.join(", ", missing) + (missing.size() == 1 ? " is" : " are") + " not set",
                        "Set " + String.join(", ", missing) + " (the model's values), or set kvcache.model.path"
                                + " (or kvcache.model.url) to size the cache from a model.");
            }
            layers = nonNull(cache.getLayers());
            kvHeads = nonNull(cache.getKvHeads());
            headDim = nonNull(cache.getHeadDim());
            contextLength = nonNull(cache.getContextLength());
        }
        try {
            return new KvCacheSpec(layers, kvHeads, headDim, contextLength, cache.getKeyType(), cache.getValueType(),
                    cache.getBlockSize());
        } catch (IllegalArgumentException e) {
            throw new KvCacheConfigurationException("Invalid KV cache shape (layers=" + layers + ", kv-heads=" + kvHeads
                    + ", head-dim=" + headDim + ", context-length=" + contextLength + ", key-type=" + cache.getKeyType()
                    + ", value-type=" + cache.getValueType() + ", block-size=" + cache.getBlockSize() + "): "
                    + e.getMessage(), "Fix the kvcache.cache property named in the message: dimensions and block-size"
                    + " must be positive, and Q8_0 key-type/value-type need a head-dim that is a multiple of 32.", e);
        }
    }

    /** Builds the cache: budget, sequences, strategy, sliding window, prefix caching. */
    static KvCache build(KvCacheSpec spec, KvCacheProperties.Cache cache) {
        if (cache.getMaxSequences() < 1) {
            throw new KvCacheConfigurationException("kvcache.cache.max-sequences is " + cache.getMaxSequences()
                    + " but the cache must admit at least one sequence", "Set kvcache.cache.max-sequences to 1 or more.");
        }
        if (cache.getStrategy() == KvCacheProperties.Strategy.LONG_SEQUENCE_ONLY && cache.getLongSequenceThreshold() < 1) {
            throw new KvCacheConfigurationException("kvcache.cache.long-sequence-threshold is "
                    + cache.getLongSequenceThreshold() + " but must be at least 1",
                    "Set kvcache.cache.long-sequence-threshold to the shortest sequence length (tokens) worth keeping.");
        }
        if (cache.getSlidingWindow() < 0 || cache.getSinkTokens() < 0) {
            throw new KvCacheConfigurationException("kvcache.cache.sliding-window (" + cache.getSlidingWindow()
                    + ") and kvcache.cache.sink-tokens (" + cache.getSinkTokens() + ") must not be negative",
                    "Set kvcache.cache.sliding-window to 0 (off) or a positive window, and sink-tokens to 0 or more.");
        }
        KvCache.Builder builder = KvCache.builder(spec)
                .maxSequences(cache.getMaxSequences())
                .strategy(cache.toCacheStrategy())
                .prefixCaching(cache.isPrefixCaching());
        if (cache.getSlidingWindow() > 0) {
            builder.slidingWindow(cache.getSlidingWindow(), cache.getSinkTokens());
        } else if (cache.getSinkTokens() > 0) {
            logger.warn("kvcache.cache.sink-tokens=" + cache.getSinkTokens() + " has no effect without"
                    + " kvcache.cache.sliding-window");
        }
        DataSize budget = cache.getMemoryBudget();
        long blockBytes = spec.bytesPerBlock();
        if (budget != null) {
            long bytes = budget.toBytes();
            if (bytes < blockBytes) {
                throw new KvCacheConfigurationException("kvcache.cache.memory-budget (" + budget + " = " + bytes
                        + " bytes) is smaller than one block of " + blockBytes + " bytes (" + spec.blockSize()
                        + " positions x " + spec.bytesPerToken() + " bytes per token), so no token could be cached",
                        "Raise kvcache.cache.memory-budget to at least " + blockBytes + "B (one full context needs "
                                + spec.blocksFor(spec.contextLength()) * blockBytes + "B), or lower"
                                + " kvcache.cache.block-size, or store F16/Q8_0 with kvcache.cache.key-type/value-type.");
            }
            long blocks = bytes / blockBytes;
            if (blocks > KvCache.MAX_BLOCKS) {
                throw new KvCacheConfigurationException("kvcache.cache.memory-budget (" + budget + ") amounts to " + blocks
                        + " blocks of " + spec.blockSize() + " positions, more than the " + KvCache.MAX_BLOCKS
                        + " a cache can track", "Raise kvcache.cache.block-size, or lower kvcache.cache.memory-budget.");
            }
            long fullContext = spec.blocksFor(spec.contextLength()) * blockBytes;
            if (bytes < fullContext) {
                logger.warn("kvcache.cache.memory-budget (" + budget + ") is smaller than one full context ("
                        + fullContext + " bytes for " + spec.contextLength() + " positions): long sequences will not fit");
            }
            builder.memoryBudget(bytes);
        } else {
            long blocks = (long) cache.getMaxSequences() * spec.blocksFor(spec.contextLength());
            if (blocks > KvCache.MAX_BLOCKS) {
                throw new KvCacheConfigurationException("The default budget (kvcache.cache.max-sequences="
                        + cache.getMaxSequences() + " full contexts of " + spec.contextLength() + " positions) amounts to "
                        + blocks + " blocks, more than the " + KvCache.MAX_BLOCKS + " a cache can track",
                        "Set kvcache.cache.memory-budget, or raise kvcache.cache.block-size, or lower"
                                + " kvcache.cache.max-sequences or kvcache.cache.context-length.");
            }
        }
        KvCache built = builder.build();
        logger.info("Created " + built + " (" + spec.bytesPerToken() + " bytes per token, up to "
                + cache.getMaxSequences() + " sequences)");
        return built;
    }

    private static int agree(String property, @Nullable Integer configured, int actual, ModelConfig model,
            List<String> mismatches) {
        if (configured != null && configured != actual) {
            mismatches.add(property + "=" + configured + " but the model " + model.name() + " has " + actual);
        }
        return actual;
    }

    private static int nonNull(@Nullable Integer value) {
        if (value == null) {
            throw new IllegalStateException("checked above");
        }
        return value;
    }
}
