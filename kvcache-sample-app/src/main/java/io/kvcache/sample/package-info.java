/**
 * The kvcache sample application: a Spring Boot app that serves a streaming generation API, an
 * OpenAI-compatible API and a web page with a live view of the KV cache.
 */
@NullMarked
package io.kvcache.sample;

import org.jspecify.annotations.NullMarked;
