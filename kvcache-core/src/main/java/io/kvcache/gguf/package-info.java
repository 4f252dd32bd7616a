/**
 * Reading and writing GGUF files.
 *
 * <p>{@link io.kvcache.gguf.GgufFile#open(java.nio.file.Path)} memory-maps a file and validates
 * every count, offset and size against the file length before use; malformed input raises
 * {@link io.kvcache.gguf.GgufFormatException} naming the byte offset. Tensor data is exposed as
 * read-only {@link java.lang.foreign.MemorySegment} slices of the mapping.
 */
@NullMarked
package io.kvcache.gguf;

import org.jspecify.annotations.NullMarked;
