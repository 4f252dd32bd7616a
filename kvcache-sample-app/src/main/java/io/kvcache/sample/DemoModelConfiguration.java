package io.kvcache.sample;

import io.kvcache.gguf.GgufFile;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.model.SyntheticModel;
import io.kvcache.spring.autoconfigure.ConditionalOnNoKvCacheModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * When no model is configured ({@code kvcache.model.path} and {@code kvcache.model.url} both unset),
 * gives the app an {@link InferenceEngine} over a small random-weight Llama model built in memory,
 * so that a fresh checkout runs without downloading anything. The starter builds the cache and the
 * generator on top of it as it would for a real model. Its output is noise, which the log and the
 * page say loudly.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnNoKvCacheModel
public class DemoModelConfiguration {
    private static final Logger log = LoggerFactory.getLogger(DemoModelConfiguration.class);

    /** Fixed so that every run of the demo model behaves the same. */
    static final long DEMO_SEED = 20_26L;

    @Bean
    DemoModel demoModel() {
        return new DemoModel(DemoModel.NOTICE);
    }

    @Bean(destroyMethod = "close")
    InferenceEngine demoInferenceEngine() {
        byte[] gguf = SyntheticModel.builder()
                .name("kvcache-demo (random weights)")
                .layers(4)
                .embeddingLength(256)
                .heads(8)
                .kvHeads(4)
                .feedForwardLength(768)
                .tokenizerFrom(DemoVocabulary.metadata())
                .contextLength(2048)
                .seed(DEMO_SEED)
                .build();
        InferenceEngine engine = InferenceEngine.of(GgufFile.read(gguf), EngineOptions.defaults());
        log.warn("""

                ******************************************************************************
                ** No model configured: running a {}-layer model with RANDOM weights.
                ** {}
                ** e.g. ./mvnw -pl kvcache-sample-app -am spring-boot:run \\
                **        -Dspring-boot.run.arguments=--kvcache.model.path=/path/to/model.gguf
                ******************************************************************************""",
                engine.config().layers(), DemoModel.NOTICE);
        return engine;
    }
}
