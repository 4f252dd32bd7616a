package io.kvcache.spring.autoconfigure;

import io.kvcache.inference.InferenceEngine;
import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;

/** The {@link InferenceEngine} bean, when a model is configured and the application has none. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnMissingBean(InferenceEngine.class)
@Conditional(KvCacheEngineConfiguration.ModelConfigured.class)
class KvCacheEngineConfiguration {

    @Bean(destroyMethod = "close")
    InferenceEngine inferenceEngine(KvCacheProperties properties) {
        return ModelLoader.load(properties);
    }

    /** {@code kvcache.model.path} or {@code kvcache.model.url} is set. */
    static final class ModelConfigured extends AnyNestedCondition {
        ModelConfigured() {
            super(ConfigurationPhase.PARSE_CONFIGURATION);
        }

        @ConditionalOnProperty(prefix = "kvcache.model", name = "path")
        static final class PathSet {
        }

        @ConditionalOnProperty(prefix = "kvcache.model", name = "url")
        static final class UrlSet {
        }
    }
}
