package io.kvcache.inference

import io.kvcache.sampling.SamplerSettings
import io.kvcache.testing.SharedModels
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.jdk9.asFlow
import kotlinx.coroutines.runBlocking
import org.awaitility.kotlin.await
import org.awaitility.kotlin.untilAsserted
import java.time.Duration
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertTrue

class GenerationFlowTest {
    @Test
    fun `publisher collected as a Flow and cancelled midway releases its sequence`() {
        InferenceEngine.load(SharedModels.model("stories260K.gguf"), EngineOptions(2)).use { engine ->
            engine.createKvCache().use { cache ->
                val generator = Generator(engine, cache)
                val request = GenerationRequest.builder()
                    .prompt("Once upon a time")
                    .maxTokens(150)
                    .sampling(SamplerSettings.greedy())
                    .build()

                val firstFive = runBlocking {
                    generator.publisher(request).asFlow()
                        .filterIsInstance<TokenEvent>()
                        .take(5) // cancels the subscription after the fifth token
                        .toList()
                }
                assertEquals(5, firstFive.size)
                assertEquals(listOf(0, 1, 2, 3, 4), firstFive.map { it.index })

                await.atMost(Duration.ofSeconds(10)) untilAsserted {
                    assertEquals(0, cache.stats().sequences())
                }

                // A full collection ends with exactly one result whose text is the concatenated deltas.
                val events = runBlocking { generator.publisher(request).asFlow().toList() }
                val result = events.last() as GenerationResult
                val text = events.filterIsInstance<TokenEvent>().joinToString("") { it.text }
                assertEquals(result.text, text)
                assertTrue(result.stopReason == StopReason.MAX_TOKENS)
                assertEquals(firstFive.map { it.tokenId }, result.tokens.take(5))
            }
        }
    }
}
