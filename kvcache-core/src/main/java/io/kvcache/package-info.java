/**
 * kvcache: a paged KV cache and a Llama-family inference engine for the JVM.
 *
 * <p>Packages, from the bottom up: {@code gguf} (model files), {@code tensor} (GGML types and
 * kernels), {@code cache} (the KV cache, usable alone), {@code model} (the forward pass),
 * {@code tokenizer}, {@code sampling} and {@code inference} (engine and generation).
 */
@NullMarked
package io.kvcache;

import org.jspecify.annotations.NullMarked;
