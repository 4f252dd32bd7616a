package io.kvcache.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvElementType;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.spring.actuate.KvCacheEndpoint;
import io.kvcache.spring.actuate.KvCacheHealthIndicator;
import io.kvcache.spring.actuate.KvCacheMeterBinder;
import io.kvcache.testing.SharedModels;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.logging.LogLevel;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The three modes (model, dimensions, nothing), user beans, and Actuator absent. */
@ExtendWith(OutputCaptureExtension.class)
class KvCacheAutoConfigurationTests {
    static final AutoConfigurations ALL = AutoConfigurations.of(KvCacheAutoConfiguration.class,
            KvCacheEndpointAutoConfiguration.class, KvCacheHealthContributorAutoConfiguration.class,
            KvCacheMetricsAutoConfiguration.class);

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(ALL)
            .withPropertyValues("kvcache.threads=1", "management.endpoints.web.exposure.include=kvcache");

    static Path model() {
        return SharedModels.model("stories260K.gguf");
    }

    @Test
    void nothingConfiguredCreatesNoBeansAndDoesNotFail() {
        runner.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).doesNotHaveBean(InferenceEngine.class);
            assertThat(context).doesNotHaveBean(KvCache.class);
            assertThat(context).doesNotHaveBean(Generator.class);
            assertThat(context).doesNotHaveBean(KvCacheEndpoint.class);
            assertThat(context).doesNotHaveBean(KvCacheHealthIndicator.class);
            assertThat(context).doesNotHaveBean(KvCacheMeterBinder.class);
            assertThat(context).hasSingleBean(KvCacheProperties.class);
        });
    }

    @Test
    void nothingConfiguredSaysWhyAtDebugLevel(CapturedOutput output) {
        LoggingSystem logging = LoggingSystem.get(getClass().getClassLoader());
        logging.setLogLevel(KvCacheAutoConfiguration.class.getName(), LogLevel.DEBUG);
        try {
            runner.run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(KvCache.class));
            assertThat(output).contains("kvcache: no InferenceEngine, KvCache or Generator bean created")
                    .contains("kvcache.model.path").contains("head-dim");
            int before = output.length();
            runner.withPropertyValues("kvcache.cache.layers=1", "kvcache.cache.context-length=16",
                    "kvcache.cache.kv-heads=1", "kvcache.cache.head-dim=4").run(context -> { });
            assertThat(output.toString().substring(before)).doesNotContain("no InferenceEngine, KvCache");
        } finally {
            logging.setLogLevel(KvCacheAutoConfiguration.class.getName(), null);
        }
    }

    @Test
    void modelPathCreatesEngineCacheSizedFromItAndAGeneratorThatGenerates() {
        runner.withPropertyValues("kvcache.model.path=" + model(), "kvcache.cache.context-length=256",
                        "kvcache.cache.max-sequences=3", "kvcache.cache.strategy=adaptive")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasBean("inferenceEngine").hasBean("kvCache").hasBean("kvCacheGenerator")
                            .hasBean("kvCacheEndpoint").hasBean("kvcacheHealthIndicator").hasBean("kvCacheMeterBinder");
                    InferenceEngine engine = context.getBean(InferenceEngine.class);
                    assertThat(engine.threads()).isEqualTo(1);
                    KvCache cache = context.getBean(KvCache.class);
                    KvCacheSpec spec = cache.spec();
                    assertThat(spec.layers()).isEqualTo(engine.config().layers()).isEqualTo(5);
                    assertThat(spec.kvHeads()).isEqualTo(engine.config().kvHeads()).isEqualTo(4);
                    assertThat(spec.headDim()).isEqualTo(engine.config().headDim()).isEqualTo(8);
                    assertThat(spec.contextLength()).isEqualTo(256);
                    assertThat(cache.maxSequences()).isEqualTo(3);
                    assertThat(cache.strategy()).isEqualTo(CacheStrategy.ADAPTIVE);
                    Generator generator = context.getBean(Generator.class);
                    assertThat(generator.engine()).isSameAs(engine);
                    assertThat(generator.cache()).isSameAs(cache);
                    GenerationResult result = generator.generate(GenerationRequest.greedy("Once upon a time", 8));
                    assertThat(result.tokens()).hasSize(8);
                    assertThat(result.text()).isNotBlank();
                    assertThat(context).hasSingleBean(KvCacheEndpoint.class);
                    assertThat(context).hasBean("kvcacheHealthIndicator");
                    assertThat(context).hasSingleBean(KvCacheMeterBinder.class);
                });
    }

    @Test
    void modelContextDefaultsToTheModelsAndBeansAreClosedWithTheContext() {
        KvCache[] cache = new KvCache[1];
        runner.withPropertyValues("kvcache.model.path=" + model()).run(context -> {
            cache[0] = context.getBean(KvCache.class);
            assertThat(cache[0].spec().contextLength()).isEqualTo(2048);
            assertThat(cache[0].spec().keyType()).isEqualTo(KvElementType.F32);
        });
        org.assertj.core.api.Assertions.assertThatThrownBy(cache[0]::newSequence)
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void dimensionsOnlyCreateACacheButNoEngineOrGenerator() {
        runner.withPropertyValues("kvcache.cache.layers=22", "kvcache.cache.context-length=2048",
                        "kvcache.cache.kv-heads=4", "kvcache.cache.head-dim=64", "kvcache.cache.key-type=F16",
                        "kvcache.cache.value-type=Q8_0", "kvcache.cache.block-size=32",
                        "kvcache.cache.memory-budget=64MB", "kvcache.cache.strategy=long-sequence-only",
                        "kvcache.cache.long-sequence-threshold=100", "kvcache.cache.sliding-window=512",
                        "kvcache.cache.sink-tokens=4", "kvcache.cache.prefix-caching=false")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).doesNotHaveBean(InferenceEngine.class);
                    assertThat(context).doesNotHaveBean(Generator.class);
                    KvCache cache = context.getBean(KvCache.class);
                    KvCacheSpec spec = cache.spec();
                    assertThat(spec).isEqualTo(new KvCacheSpec(22, 4, 64, 2048, KvElementType.F16, KvElementType.Q8_0, 32));
                    // F16 keys 128 B + Q8_0 values 68 B per head and layer.
                    assertThat(spec.bytesPerToken()).isEqualTo((2 * 64 + 2 * 34) * 22 * 4);
                    assertThat(cache.stats().blocksTotal()).isEqualTo((int) (64L * 1024 * 1024 / spec.bytesPerBlock()));
                    assertThat(cache.strategy()).isEqualTo(CacheStrategy.longSequenceOnly(100));
                    assertThat(cache.slidingWindow()).isEqualTo(512);
                    assertThat(cache.sinkTokens()).isEqualTo(4);
                    assertThat(context).hasSingleBean(KvCacheEndpoint.class);
                });
    }

    @Test
    void aUserEngineWithoutModelPropertiesGetsACacheAndGeneratorBuiltFromIt() {
        runner.withUserConfiguration(UserEngine.class).withPropertyValues("kvcache.cache.context-length=128")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(InferenceEngine.class).hasBean("demoEngine");
                    InferenceEngine engine = context.getBean(InferenceEngine.class);
                    KvCache cache = context.getBean(KvCache.class);
                    assertThat(cache.spec()).isEqualTo(engine.kvCacheSpec(128, KvElementType.F32));
                    assertThat(context.getBean(Generator.class).engine()).isSameAs(engine);
                    assertThat(context.getBean(Generator.class).cache()).isSameAs(cache);
                });
    }

    @Test
    void aUserEngineWinsOverTheModelProperty() {
        runner.withUserConfiguration(UserEngine.class)
                .withPropertyValues("kvcache.model.path=/does/not/exist.gguf")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(InferenceEngine.class).hasBean("demoEngine");
                    assertThat(context).hasSingleBean(Generator.class);
                });
    }

    @Test
    void aFallbackEngineGivesWayToAConfiguredModel() {
        runner.withUserConfiguration(FallbackEngine.class).withPropertyValues("kvcache.cache.context-length=32")
                .run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(InferenceEngine.class).hasBean("fallbackEngine");
            assertThat(context.getBean(KvCache.class).spec().contextLength()).isEqualTo(32);
        });
        runner.withUserConfiguration(FallbackEngine.class).withPropertyValues("kvcache.model.path=" + model())
                .run(context -> {
                    assertThat(context).hasNotFailed().hasSingleBean(InferenceEngine.class)
                            .doesNotHaveBean("fallbackEngine").hasBean("inferenceEngine");
                    assertThat(context.getBean(KvCache.class).spec().contextLength()).isEqualTo(2048);
                });
    }

    @Test
    void twoUserEnginesAreAmbiguousSoNoCacheOrGeneratorIsGuessed() {
        runner.withUserConfiguration(UserEngine.class, SecondEngine.class).run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context).getBeans(InferenceEngine.class).hasSize(2);
            assertThat(context).doesNotHaveBean(KvCache.class).doesNotHaveBean(Generator.class);
        });
    }

    @Test
    void aUserCacheReplacesOursAndTheGeneratorUsesIt() {
        runner.withUserConfiguration(UserCache.class).withPropertyValues("kvcache.model.path=" + model())
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(KvCache.class).hasBean("userCache");
                    KvCache cache = context.getBean(KvCache.class);
                    assertThat(cache.maxSequences()).isEqualTo(2);
                    assertThat(context.getBean(Generator.class).cache()).isSameAs(cache);
                    assertThat(context.getBean(KvCacheEndpoint.class).report().spec().contextLength()).isEqualTo(64);
                });
    }

    @Test
    void aUserGeneratorAndActuatorBeansReplaceOurs() {
        runner.withUserConfiguration(UserGenerator.class).withPropertyValues("kvcache.model.path=" + model())
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(Generator.class).hasBean("userGenerator");
                    assertThat(context).hasSingleBean(KvCacheMeterBinder.class).hasBean("userMeters");
                    assertThat(context).getBean("kvcacheHealthIndicator").isSameAs(context.getBean("userHealth"));
                });
    }

    @Test
    void withoutActuatorOrMicrometerTheCoreBeansStillWork() {
        runner.withClassLoader(new FilteredClassLoader(Endpoint.class, HealthIndicator.class, MeterBinder.class))
                .withPropertyValues("kvcache.model.path=" + model())
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).hasSingleBean(InferenceEngine.class);
                    assertThat(context).hasSingleBean(KvCache.class);
                    assertThat(context).hasSingleBean(Generator.class);
                    assertThat(context).doesNotHaveBean(KvCacheEndpoint.class);
                    assertThat(context).doesNotHaveBean(KvCacheHealthIndicator.class);
                    assertThat(context).doesNotHaveBean(KvCacheMeterBinder.class);
                });
    }

    @Test
    void theEndpointExistsOnlyWhenExposedAndAUserEndpointReplacesOurs() {
        new ApplicationContextRunner().withConfiguration(ALL)
                .withPropertyValues("kvcache.threads=1", "kvcache.model.path=" + model())
                .run(context -> assertThat(context).hasNotFailed().doesNotHaveBean(KvCacheEndpoint.class)
                        .hasSingleBean(KvCache.class));
        runner.withPropertyValues("kvcache.model.path=" + model()).withBean("userEndpoint", KvCacheEndpoint.class)
                .run(context -> assertThat(context).hasSingleBean(KvCacheEndpoint.class).hasBean("userEndpoint"));
    }

    @Test
    void quantizedActivationsAreOnByDefaultAndCanBeSwitchedOff() {
        runner.withPropertyValues("kvcache.model.path=" + model())
                .run(context -> assertThat(context.getBean(InferenceEngine.class).options().quantizeActivations())
                        .isTrue());
        runner.withPropertyValues("kvcache.model.path=" + model(), "kvcache.quantize-activations=false")
                .run(context -> assertThat(context.getBean(InferenceEngine.class).options().quantizeActivations())
                        .isFalse());
    }

    @Test
    void maxBatchSizeConfiguresContinuousBatchingAndRejectsZero() {
        runner.withPropertyValues("kvcache.model.path=" + model())
                .run(context -> assertThat(context.getBean(InferenceEngine.class).maxBatchSize())
                        .isEqualTo(io.kvcache.inference.EngineOptions.DEFAULT_MAX_BATCH_SIZE));
        runner.withPropertyValues("kvcache.model.path=" + model(), "kvcache.max-batch-size=3")
                .run(context -> assertThat(context.getBean(InferenceEngine.class).maxBatchSize()).isEqualTo(3));
        runner.withPropertyValues("kvcache.model.path=" + model(), "kvcache.max-batch-size=0")
                .run(context -> assertThat(context).hasFailed().getFailure()
                        .hasRootCauseInstanceOf(KvCacheConfigurationException.class)
                        .rootCause().hasMessageContaining("kvcache.max-batch-size is 0"));
    }

    @Test
    void theHealthIndicatorCanBeSwitchedOff() {
        runner.withPropertyValues("kvcache.model.path=" + model(), "management.health.kvcache.enabled=false")
                .run(context -> assertThat(context).doesNotHaveBean(KvCacheHealthIndicator.class)
                        .hasSingleBean(KvCache.class));
    }

    @Test
    void generationDefaultsBecomeSamplerSettingsAndRequests() {
        runner.withPropertyValues("kvcache.generation.temperature=0.2", "kvcache.generation.top-k=7",
                        "kvcache.generation.top-p=0.5", "kvcache.generation.min-p=0.1",
                        "kvcache.generation.repetition-penalty=1.3", "kvcache.generation.seed=42",
                        "kvcache.generation.max-tokens=12", "kvcache.generation.stop=\\n\\n,THE END")
                .run(context -> {
                    KvCacheProperties.Generation generation = context.getBean(KvCacheProperties.class).getGeneration();
                    var sampling = generation.toSamplerSettings();
                    assertThat(sampling.temperature()).isEqualTo(0.2f);
                    assertThat(sampling.topK()).isEqualTo(7);
                    assertThat(sampling.topP()).isEqualTo(0.5f);
                    assertThat(sampling.minP()).isEqualTo(0.1f);
                    assertThat(sampling.repetitionPenalty()).isEqualTo(1.3f);
                    assertThat(sampling.seed()).isEqualTo(42L);
                    GenerationRequest request = generation.requestBuilder().prompt("Hi").build();
                    assertThat(request.maxTokens()).isEqualTo(12);
                    assertThat(request.stopStrings()).containsExactly("\\n\\n", "THE END");
                    assertThat(request.sampling()).isEqualTo(sampling);
                });
    }

    @Configuration(proxyBeanMethods = false)
    static class UserEngine {
        @Bean(destroyMethod = "close")
        InferenceEngine demoEngine() {
            return InferenceEngine.load(model(), new EngineOptions(1));
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class SecondEngine {
        @Bean(destroyMethod = "close")
        InferenceEngine secondEngine() {
            return InferenceEngine.load(model(), new EngineOptions(1));
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class FallbackEngine {
        @Bean(destroyMethod = "close")
        @ConditionalOnNoKvCacheModel
        InferenceEngine fallbackEngine() {
            return InferenceEngine.of(io.kvcache.gguf.GgufFile.open(model()), new EngineOptions(1));
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class UserCache {
        @Bean(destroyMethod = "close")
        KvCache userCache(InferenceEngine engine) {
            return KvCache.builder(engine.kvCacheSpec(64, KvElementType.F16)).maxSequences(2).build();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class UserGenerator {
        @Bean
        Generator userGenerator(InferenceEngine engine, KvCache cache) {
            return new Generator(engine, cache);
        }

        @Bean
        KvCacheMeterBinder userMeters(KvCache cache) {
            return new KvCacheMeterBinder(cache);
        }

        @Bean(name = {"userHealth", "kvcacheHealthIndicator"})
        KvCacheHealthIndicator userHealth(KvCache cache) {
            return new KvCacheHealthIndicator(cache);
        }
    }
}
