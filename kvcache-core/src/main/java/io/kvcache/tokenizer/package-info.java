/**
 * Text to token ids and back, for the tokenizers found in GGUF files, plus chat prompt templates.
 *
 * <p>{@link io.kvcache.tokenizer.Tokenizer#fromGguf(io.kvcache.gguf.GgufMetadata)} builds a
 * tokenizer that reproduces llama.cpp's: SentencePiece-style score merging ({@code llama}) and
 * GPT-2 byte-level BPE ({@code gpt2}) with llama.cpp's pre-tokenizer regexes. Tokenizers are
 * immutable and thread-safe; {@link io.kvcache.tokenizer.TokenDecoder}s are per-stream and not.
 */
@NullMarked
package io.kvcache.tokenizer;

import org.jspecify.annotations.NullMarked;
