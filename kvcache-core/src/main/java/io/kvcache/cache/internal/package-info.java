/**
 * Internals of the KV cache (block pool, prefix index, row codecs, attention kernels). Not API:
 * these types may change without notice. None of them is thread-safe on its own; {@code KvCache}
 * serializes access to the pool's metadata.
 */
@NullMarked
package io.kvcache.cache.internal;

import org.jspecify.annotations.NullMarked;
