/**
 * Tensors over GGUF data and the compute kernels of the engine.
 *
 * <p>{@link io.kvcache.tensor.WeightMatrix} views a memory segment (usually a slice of a
 * memory-mapped GGUF file) as a matrix in one GGML type (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K,
 * Q5_K, Q6_K), dequantizes rows bit-exactly like llama.cpp, and computes row dot products that
 * dequantize on the fly (Q4_0 rows are repacked into memory of the matrix's own when it is created). {@link io.kvcache.tensor.Kernels} builds matrix-vector and batched
 * matrix-matrix products on them, split across a {@link io.kvcache.tensor.ComputePool}.
 * {@link io.kvcache.tensor.Quantizer} encodes floats the way llama.cpp's reference quantizers do.
 *
 * <p>Kernels use the incubating Vector API when the JVM runs with
 * {@code --add-modules=jdk.incubator.vector}; without it they fall back to scalar code with the
 * same results up to float rounding. {@code -Dkvcache.vector=false} forces the scalar code.
 */
@NullMarked
package io.kvcache.tensor;

import org.jspecify.annotations.NullMarked;
