package io.kvcache.gguf

import io.kvcache.testing.SharedModels
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertNull

class GgufKotlinTest {
    @Test
    fun `nullable lookups read naturally from Kotlin`() {
        GgufFile.open(SharedModels.model("stories260K.gguf")).use { file ->
            // tensor() is @Nullable: Kotlin sees GgufTensorInfo? and forces the null check.
            val missing: GgufTensorInfo? = file.tensor("no.such.tensor")
            assertNull(missing)
            val rows = file.tensor("token_embd.weight")?.dim(1) ?: error("embedding missing")
            assertEquals(512L, rows)
            assertEquals("llama", file.metadata().getString("general.architecture"))
        }
    }
}
