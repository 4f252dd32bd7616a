package io.kvcache.spring.autoconfigure;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.model.ModelConfig;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The {@link Generator} bean, when there is one {@link InferenceEngine} and one {@link KvCache} bean (or
 * a primary one of each).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnSingleCandidate(InferenceEngine.class)
class KvCacheGeneratorConfiguration {

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnSingleCandidate(KvCache.class)
    Generator kvCacheGenerator(InferenceEngine engine, KvCache cache) {
        ModelConfig model = engine.config();
        KvCacheSpec spec = cache.spec();
        if (spec.layers() != model.layers() || spec.kvHeads() != model.kvHeads() || spec.headDim() != model.headDim()) {
            throw new KvCacheConfigurationException("The KvCache bean (layers=" + spec.layers() + ", kv-heads="
                    + spec.kvHeads() + ", head-dim=" + spec.headDim() + ") does not fit the InferenceEngine bean's model "
                    + model.name() + " (layers=" + model.layers() + ", kv-heads=" + model.kvHeads() + ", head-dim="
                    + model.headDim() + ")", "Build the KvCache from the engine (engine.kvCacheBuilder()), or remove"
                    + " your KvCache bean so that the starter sizes one from the model.");
        }
        return new Generator(engine, cache);
    }
}
