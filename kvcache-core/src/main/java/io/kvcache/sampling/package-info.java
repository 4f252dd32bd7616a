/**
 * Choosing the next token from logits: {@link io.kvcache.sampling.SamplerSettings} (an immutable
 * record with a builder) and {@link io.kvcache.sampling.Sampler}, which applies llama.cpp's stages
 * in llama.cpp's order: penalties, top-k, top-p, min-p, temperature, then a seeded random draw (or
 * argmax when the temperature is 0). Samplers keep per-stream history and are not thread-safe.
 */
@NullMarked
package io.kvcache.sampling;

import org.jspecify.annotations.NullMarked;
