package io.kvcache.cache

import kotlin.test.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue

class KvCacheKotlinTest {
    private val spec = KvCacheSpec.builder()
        .layers(2).kvHeads(2).headDim(32).contextLength(128)
        .elementType(KvElementType.F16)
        .build()

    @Test
    fun `builders, use blocks and nullable lookups read naturally from Kotlin`() {
        KvCache.builder(spec).memoryBudget(spec.bytesPerBlock() * 16).maxSequences(4).build().use { cache ->
            val prompt = IntArray(40) { it + 7 }
            val id = cache.newSequence(prompt).use { sequence ->
                sequence.reserve(prompt.size)
                val k = FloatArray(spec.kvDim()) { 0.5f }
                val v = FloatArray(spec.kvDim()) { -0.25f }
                for (position in 0 until prompt.size) {
                    for (layer in 0 until spec.layers()) {
                        sequence.store(layer, position, k, 0, v, 0)
                    }
                }
                sequence.advance(prompt)
                val read = FloatArray(spec.kvDim())
                sequence.readValue(1, 39, read, 0)
                assertTrue(read.all { it == -0.25f })

                // sequenceInfo() is @Nullable: Kotlin sees SequenceInfo? and forces the null check.
                val info: SequenceInfo? = cache.sequenceInfo(sequence.id())
                assertEquals(40, info?.tokens ?: error("sequence missing"))
                assertEquals(3, info.blocks)
                sequence.id()
            }
            assertNull(cache.sequenceInfo(id), "closed sequences have no info")

            // A second conversation with the same prompt reuses the two full cached blocks.
            cache.newSequence(prompt).use { again ->
                assertEquals(32, again.length())
                assertContentEquals(prompt.copyOf(32), again.tokens())
            }
            val stats = cache.stats()
            assertEquals(32L, stats.prefixHitTokens)
            assertEquals(16, stats.blocksTotal)
        }
    }

    @Test
    fun `invalid specs fail with a message naming the fix`() {
        val error = assertFailsWith<IllegalArgumentException> {
            KvCacheSpec.builder().layers(2).kvHeads(2).headDim(40).contextLength(64)
                .keyType(KvElementType.Q8_0).build()
        }
        assertTrue("multiple of 32" in error.message.orEmpty(), error.message)
        val strategy: CacheStrategy = CacheStrategy.longSequenceOnly(100)
        val described = when (strategy) {
            is CacheStrategy.LongSequenceOnly -> "cache sequences of ${strategy.threshold()}+ tokens"
            is CacheStrategy.Always, is CacheStrategy.Adaptive, is CacheStrategy.Disabled -> "other"
        }
        assertEquals("cache sequences of 100+ tokens", described)
    }
}
