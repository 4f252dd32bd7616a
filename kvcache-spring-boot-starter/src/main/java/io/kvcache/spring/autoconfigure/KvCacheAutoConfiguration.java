package io.kvcache.spring.autoconfigure;

import io.kvcache.inference.InferenceEngine;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Import;

/**
 * Auto-configuration of kvcache's core beans. Every bean backs off when the application defines its
 * own of the same type ({@code @ConditionalOnMissingBean}):
 * <ul>
 *   <li>{@code inferenceEngine} ({@link InferenceEngine}): when {@code kvcache.model.path} or
 *       {@code kvcache.model.url} is set; closed on shutdown.
 *   <li>{@code kvCache} ({@link io.kvcache.cache.KvCache}): when an {@code InferenceEngine} bean
 *       exists (this one or the application's; the cache is sized from it), else when the
 *       {@code kvcache.cache} dimensions are set; closed on shutdown.
 *   <li>{@code kvCacheGenerator} ({@link io.kvcache.inference.Generator}): when there is one of each.
 * </ul>
 * With nothing configured it creates none of them and says so at debug level. The three nested
 * configurations are imported in this order so that each sees the beans of the previous one.
 *
 * <p>Thread-safe: Spring calls it once during startup.
 */
@AutoConfiguration
@EnableConfigurationProperties(KvCacheProperties.class)
@Import({KvCacheEngineConfiguration.class, KvCacheCacheConfiguration.class, KvCacheGeneratorConfiguration.class})
public class KvCacheAutoConfiguration {
    private static final Log logger = LogFactory.getLog(KvCacheAutoConfiguration.class);

    public KvCacheAutoConfiguration(KvCacheProperties properties, ListableBeanFactory beanFactory) {
        validateGenerationDefaults(properties.getGeneration());
        if (!properties.getModel().isConfigured() && !properties.getCache().hasAnyDimension()
                && beanFactory.getBeanNamesForType(InferenceEngine.class, true, false).length == 0) {
            logger.debug("kvcache: no InferenceEngine, KvCache or Generator bean created: neither kvcache.model.path"
                    + " nor kvcache.model.url is set, the kvcache.cache dimensions (layers, context-length, kv-heads,"
                    + " head-dim) are not set, and the application defines no InferenceEngine bean");
        }
    }

    private static void validateGenerationDefaults(KvCacheProperties.Generation generation) {
        if (generation.getMaxTokens() < 1) {
            throw new KvCacheConfigurationException("kvcache.generation.max-tokens is " + generation.getMaxTokens()
                    + " but a generation must produce at least one token",
                    "Set kvcache.generation.max-tokens to 1 or more.");
        }
        for (String stop : generation.getStop()) {
            if (stop.isEmpty()) {
                throw new KvCacheConfigurationException("kvcache.generation.stop contains an empty string",
                        "Remove the empty entry from kvcache.generation.stop.");
            }
        }
        try {
            generation.toSamplerSettings();
        } catch (IllegalArgumentException e) {
            throw new KvCacheConfigurationException("Invalid kvcache.generation sampling defaults: " + e.getMessage(),
                    "Correct kvcache.generation.temperature, top-p, top-k, min-p or repetition-penalty as the message says.",
                    e);
        }
    }
}
