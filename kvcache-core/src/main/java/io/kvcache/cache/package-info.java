/**
 * The paged KV cache: a {@link io.kvcache.cache.KvCacheSpec} built from explicit dimensions, a
 * thread-safe pool of off-heap blocks ({@link io.kvcache.cache.KvCache}), per-conversation
 * {@link io.kvcache.cache.KvSequence}s with copy-on-write forks, prefix caching, sliding windows,
 * caching strategies and cached grouped-query attention.
 *
 * <p>This package depends on the JDK only, so a user with their own transformer can use it alone.
 */
@NullMarked
package io.kvcache.cache;

import org.jspecify.annotations.NullMarked;
