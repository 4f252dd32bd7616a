/**
 * JMH micro-benchmarks of the engine's parts: weight-matrix products per type and size, attention
 * over the paged cache per context length and K/V type, cache append and read, tokenizer
 * throughput, and one whole decode step (run that one with {@code -prof gc} to see what a token
 * allocates). Run them with {@code java -jar kvcache-bench/target/kvcache-bench.jar REGEX} and the
 * JVM flags of {@link io.kvcache.bench.jmh.JvmFlags}.
 */
@NullMarked
package io.kvcache.bench.jmh;

import org.jspecify.annotations.NullMarked;
