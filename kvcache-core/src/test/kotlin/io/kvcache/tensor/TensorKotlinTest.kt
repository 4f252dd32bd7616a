package io.kvcache.tensor

import io.kvcache.gguf.GgmlType
import io.kvcache.gguf.GgufFile
import io.kvcache.gguf.GgufWriter
import java.util.Random
import kotlin.test.Test
import kotlin.test.assertEquals

class TensorKotlinTest {
    @Test
    fun `a synthetic model is written, read and multiplied from Kotlin`() {
        val rows = 8
        val cols = 64
        val weights = FloatArray(rows * cols) { i -> if (i % (cols + 1) == 0) 1f else 0f } // identity-like
        val bytes = GgufWriter()
            .putString("general.architecture", "llama")
            .addTensor("w", GgmlType.Q8_0, longArrayOf(cols.toLong(), rows.toLong()), Quantizer.quantize(GgmlType.Q8_0, weights))
            .addTensor("r", GgmlType.Q4_K, longArrayOf(256), Quantizer.randomBlocks(GgmlType.Q4_K, 1, Random(1)))
            .toByteArray()
        GgufFile.read(bytes).use { file ->
            val w = WeightMatrix.of(file, file.tensor("w") ?: error("missing"))
            val x = FloatArray(cols) { it.toFloat() }
            val out = FloatArray(rows)
            // F32 activations (the last argument): Q8_0 products otherwise round x to Q8_0 first, as llama.cpp does.
            ComputePool.create(2).use { pool -> Kernels.matvec(w, x, 0, out, 0, pool, false) }
            // Q8_0 stores 1.0 as 127 * f16(1/127) = 0.99993896: exact up to the scale's rounding.
            out.forEachIndexed { r, v -> assertEquals(r.toFloat(), v, r * 1e-4f) }
            assertEquals(1, WeightMatrix.of(file, file.tensor("r")!!).rows())
        }
    }
}
