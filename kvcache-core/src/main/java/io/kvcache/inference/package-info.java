/**
 * The engine: {@link io.kvcache.inference.InferenceEngine} loads a GGUF model, creates KV caches
 * sized for it and runs forward passes against them.
 */
@NullMarked
package io.kvcache.inference;

import org.jspecify.annotations.NullMarked;
