package io.kvcache.spring

import io.kvcache.cache.KvCache
import io.kvcache.inference.EngineOptions
import io.kvcache.inference.GenerationResult
import io.kvcache.inference.Generator
import io.kvcache.inference.InferenceEngine
import io.kvcache.spring.actuate.KvCacheMeterBinder
import io.kvcache.spring.autoconfigure.KvCacheAutoConfiguration
import io.kvcache.spring.autoconfigure.KvCacheMetricsAutoConfiguration
import io.kvcache.spring.autoconfigure.KvCacheProperties
import io.kvcache.testing.SharedModels
import io.micrometer.core.instrument.simple.SimpleMeterRegistry
import org.springframework.boot.autoconfigure.AutoConfigurations
import org.springframework.boot.test.context.runner.ApplicationContextRunner
import org.springframework.context.annotation.Bean
import org.springframework.context.annotation.Configuration
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.assertSame
import kotlin.test.assertTrue

/** A service written in Kotlin that gets the starter's beans by constructor injection. */
class StoryTeller(
    private val generator: Generator,
    private val properties: KvCacheProperties,
    private val metrics: KvCacheMeterBinder,
) {
    fun tell(opening: String): GenerationResult {
        val timer = metrics.tokenTimer()
        return generator.generate(properties.generation.requestBuilder().prompt(opening).build(), timer)
            .also(timer::accept)
    }
}

/** The application's own demo engine (no kvcache.model.path): the starter sizes its cache from it. */
@Configuration(proxyBeanMethods = false)
class StoryConfiguration {
    @Bean(destroyMethod = "close")
    fun demoEngine(): InferenceEngine =
        InferenceEngine.load(SharedModels.model("stories260K.gguf"), EngineOptions(1))

    @Bean
    fun storyTeller(generator: Generator, properties: KvCacheProperties, metrics: KvCacheMeterBinder) =
        StoryTeller(generator, properties, metrics)
}

class KotlinConfigurationTest {
    private val runner = ApplicationContextRunner()
        .withConfiguration(
            AutoConfigurations.of(KvCacheAutoConfiguration::class.java, KvCacheMetricsAutoConfiguration::class.java),
        )
        .withUserConfiguration(StoryConfiguration::class.java)
        .withPropertyValues(
            "kvcache.cache.context-length=128",
            "kvcache.generation.temperature=0",
            "kvcache.generation.max-tokens=6",
        )

    @Test
    fun `a Kotlin configuration gets the starter's beans injected and generates with the configured defaults`() {
        runner.run { context ->
            val engine = context.getBean(InferenceEngine::class.java)
            val cache = context.getBean(KvCache::class.java)
            assertEquals(engine.config().layers(), cache.spec().layers())
            assertEquals(128, cache.spec().contextLength())
            assertSame(cache, context.getBean(Generator::class.java).cache())
            val properties = context.getBean(KvCacheProperties::class.java)
            assertNull(properties.threads)
            assertEquals(Runtime.getRuntime().availableProcessors(), properties.effectiveThreads())

            val registry = SimpleMeterRegistry()
            context.getBean(KvCacheMeterBinder::class.java).bindTo(registry)
            val teller = context.getBean(StoryTeller::class.java)
            val first = teller.tell("Once upon a time")
            val second = teller.tell("Once upon a time")
            assertEquals(6, first.tokens().size)
            assertEquals(first.text(), second.text(), "temperature 0 from kvcache.generation is greedy")
            assertTrue(first.text().isNotBlank())
            assertEquals(12.0, registry.get("kvcache.generation.tokens").tag("kind", "completion").counter().count())
            assertEquals(10, registry.get("kvcache.generation.token.latency").timer().count())
            assertEquals(0, cache.stats().sequences())
        }
    }
}
