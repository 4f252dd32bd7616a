/**
 * Spring Boot auto-configuration for kvcache: {@link io.kvcache.spring.autoconfigure.KvCacheProperties}
 * ({@code kvcache.*}), the {@code InferenceEngine}, {@code KvCache} and {@code Generator} beans
 * ({@link io.kvcache.spring.autoconfigure.KvCacheAutoConfiguration}), model download, and a failure
 * analyzer that explains configuration errors at startup.
 */
@NullMarked
package io.kvcache.spring.autoconfigure;

import org.jspecify.annotations.NullMarked;
