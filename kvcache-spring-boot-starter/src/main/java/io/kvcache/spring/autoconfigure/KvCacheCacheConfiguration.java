package io.kvcache.spring.autoconfigure;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.inference.InferenceEngine;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;

/**
 * The {@link KvCache} bean: sized from the {@link InferenceEngine} bean when there is one (ours or
 * the application's; a single candidate or a primary one), else from the explicit
 * {@code kvcache.cache} dimensions.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnMissingBean(KvCache.class)
@Conditional(KvCacheCacheConfiguration.CacheSourceAvailable.class)
class KvCacheCacheConfiguration {

    @Bean(destroyMethod = "close")
    KvCache kvCache(KvCacheProperties properties, ObjectProvider<InferenceEngine> engine) {
        InferenceEngine model = engine.getIfUnique();
        KvCacheSpec spec = KvCacheFactory.spec(properties.getCache(), model == null ? null : model.config());
        return KvCacheFactory.build(spec, properties.getCache());
    }

    /**
     * An {@code InferenceEngine} bean exists, or any {@code kvcache.cache} dimension is set (a partial
     * set then fails with a message naming the missing ones).
     */
    static final class CacheSourceAvailable extends AnyNestedCondition {
        CacheSourceAvailable() {
            super(ConfigurationPhase.REGISTER_BEAN);
        }

        @ConditionalOnSingleCandidate(InferenceEngine.class)
        static final class EngineBean {
        }

        @ConditionalOnProperty(prefix = "kvcache.cache", name = "layers")
        static final class Layers {
        }

        @ConditionalOnProperty(prefix = "kvcache.cache", name = "context-length")
        static final class ContextLength {
        }

        @ConditionalOnProperty(prefix = "kvcache.cache", name = "kv-heads")
        static final class KvHeads {
        }

        @ConditionalOnProperty(prefix = "kvcache.cache", name = "head-dim")
        static final class HeadDim {
        }
    }
}
