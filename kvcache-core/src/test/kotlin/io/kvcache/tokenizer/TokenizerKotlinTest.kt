package io.kvcache.tokenizer

import io.kvcache.gguf.GgufFile
import io.kvcache.sampling.Sampler
import io.kvcache.sampling.SamplerSettings
import io.kvcache.testing.SharedModels
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue

class TokenizerKotlinTest {
    private val tokenizer: Tokenizer =
        GgufFile.open(SharedModels.model("stories260K.gguf")).use { Tokenizer.fromGguf(it.metadata()) }

    @Test
    fun `encode, sample greedily and stream the text`() {
        val prompt = tokenizer.encode("Once upon a time")
        assertEquals(listOf(1, 403, 407, 261, 378), prompt.toList())

        val settings = SamplerSettings.builder()
            .temperature(0f)
            .repetitionPenalty(1.0f)
            .build()
        val sampler = Sampler.create(settings)
        prompt.forEach(sampler::accept)

        // a fake model that always prefers the token after the last one
        val decoder = tokenizer.newDecoder()
        val text = buildString {
            var last = prompt.last()
            repeat(3) {
                val logits = FloatArray(tokenizer.vocabularySize()).also { it[(last + 1) % it.size] = 5f }
                last = sampler.sample(logits)
                sampler.accept(last)
                append(decoder.append(last))
            }
            append(decoder.flush())
        }
        assertEquals(tokenizer.decode(intArrayOf(1, 379, 380, 381)), text)
        assertTrue(sampler.lastLogProbability() < 0f)
    }

    @Test
    fun `settings read naturally and fail with clear messages`() {
        val settings = SamplerSettings.builder().topK(20).topP(0.9f).seed(42L).build()
        assertEquals(42L, settings.seed)
        assertNull(SamplerSettings.defaults().seed, "seed is a nullable Long in Kotlin")
        val copy = settings.toBuilder().seed(null).build()
        assertNull(copy.seed)
        val error = assertFailsWith<IllegalArgumentException> { SamplerSettings.builder().topP(2f).build() }
        assertTrue("topP" in error.message.orEmpty())
    }

    @Test
    fun `chat messages and templates`() {
        val rendered = ChatTemplate.CHATML.render(listOf(ChatMessage.user("Hi")), true)
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", rendered)
        val message = ChatMessage.user("Hi")
        assertEquals("user" to "Hi", message.role to message.content)
    }
}
