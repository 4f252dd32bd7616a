package io.kvcache.sample;

import io.kvcache.cache.KvCache;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import java.nio.file.Path;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** TEMPORARY until the starter provides these beans. */
@Configuration(proxyBeanMethods = false)
class TemporaryKvCacheConfiguration {

    @Bean(destroyMethod = "close")
    @ConditionalOnProperty("kvcache.model.path")
    InferenceEngine inferenceEngine(@Value("${kvcache.model.path}") String path) {
        return InferenceEngine.load(Path.of(path));
    }

    @Bean(destroyMethod = "close")
    KvCache kvCache(InferenceEngine engine, @Value("${kvcache.cache.max-sequences:16}") int maxSequences) {
        return engine.kvCacheBuilder().maxSequences(maxSequences).build();
    }

    @Bean
    Generator generator(InferenceEngine engine, KvCache cache) {
        return new Generator(engine, cache);
    }
}
