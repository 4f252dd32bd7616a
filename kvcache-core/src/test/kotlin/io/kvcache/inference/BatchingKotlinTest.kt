package io.kvcache.inference

import io.kvcache.gguf.GgmlType
import io.kvcache.gguf.GgufFile
import io.kvcache.model.SyntheticModel
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith

/** The batching options and the buffer-reusing forward read naturally from Kotlin. */
class BatchingKotlinTest {
    private val model = SyntheticModel.builder().layers(2).embeddingLength(128).heads(4).kvHeads(2)
        .feedForwardLength(256).vocabularySize(512).contextLength(128).weightType(GgmlType.F32).seed(8).build()

    @Test
    fun `options take maxBatchSize in the constructor and by wither, and reject nonsense`() {
        val options = EngineOptions(2, 4)
        assertEquals(4, options.maxBatchSize)
        assertEquals(EngineOptions.DEFAULT_MAX_BATCH_SIZE, EngineOptions(2).maxBatchSize)
        assertEquals(EngineOptions(3, 4), options.withThreads(3))
        assertEquals(1, options.withMaxBatchSize(1).maxBatchSize)
        val e = assertFailsWith<IllegalArgumentException> { EngineOptions(2, 0) }
        assertEquals(true, e.message!!.contains("maxBatchSize"))
    }

    @Test
    fun `coroutines decoding into their own buffers get what one alone gets`() {
        val prompts = (0 until 6).map { intArrayOf(1, 10 + it, 40 + 2 * it) }
        fun decode(engine: InferenceEngine, prompt: IntArray): IntArray =
            engine.createKvCache(128, io.kvcache.cache.KvElementType.F32).use { cache ->
                cache.newSequence().use { seq ->
                    val logits = FloatArray(engine.config().vocabularySize())
                    engine.forward(seq, prompt, logits)
                    val token = IntArray(1)
                    IntArray(20) {
                        token[0] = logits.indices.maxBy { i -> logits[i] }
                        engine.forward(seq, token, logits)
                        token[0]
                    }
                }
            }
        val alone = InferenceEngine.of(GgufFile.read(model), EngineOptions(2, 1)).use { engine ->
            prompts.map { decode(engine, it) }
        }
        val batched = InferenceEngine.of(GgufFile.read(model), EngineOptions(2)).use { engine ->
            runBlocking(Dispatchers.IO) {
                prompts.map { async { decode(engine, it) } }.awaitAll()
            }
        }
        prompts.indices.forEach { assertContentEquals(alone[it], batched[it], "prompt $it") }
    }
}
