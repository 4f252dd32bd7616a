/**
 * Llama-family models: configuration read from GGUF metadata, weights as
 * {@link io.kvcache.tensor.WeightMatrix} views over the mapped file, and the forward pass over a
 * batch of tokens that writes K/V into a {@link io.kvcache.cache.KvSequence} and attends through
 * it.
 */
@NullMarked
package io.kvcache.model;

import org.jspecify.annotations.NullMarked;
