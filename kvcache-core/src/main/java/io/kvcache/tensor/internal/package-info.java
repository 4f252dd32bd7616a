/**
 * Implementation of the tensor types: one {@link io.kvcache.tensor.internal.BlockMatrix} subclass
 * per GGML type holding the scalar dequantization and dot product (transcriptions of llama.cpp's
 * reference formulas), delegating to the Vector API kernels in {@code .vector} when enabled.
 * Not a public API: it may change without notice.
 */
@NullMarked
package io.kvcache.tensor.internal;

import org.jspecify.annotations.NullMarked;
