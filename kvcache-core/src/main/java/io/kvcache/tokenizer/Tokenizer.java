package io.kvcache.tokenizer;

import io.kvcache.gguf.GgufMetadata;

/**
 * Converts text to token ids and back, reproducing llama.cpp's tokenizers.
 *
 * <p>Implementations are immutable and thread-safe (the BPE word cache is a concurrent map).
 *
 * <p>Token kinds follow {@code tokenizer.ggml.token_type}: normal, unknown, control,
 * user-defined, unused and byte. "Special" tokens are control, user-defined and unknown ones;
 * control and unknown tokens are hidden on output unless rendering is asked for, user-defined ones
 * are always rendered (as llama.cpp does).
 */
public interface Tokenizer {

    /** The {@code tokenizer.ggml.model} values this library understands. */
    java.util.List<String> SUPPORTED_MODELS = java.util.List.of("llama", "gpt2");

    /**
     * Builds the tokenizer described by GGUF metadata ({@code tokenizer.ggml.*}).
     *
     * @throws IllegalArgumentException when the tokenizer model or pre-tokenizer is not supported or
     *     the vocabulary is malformed (including {@code tokenizer.*} keys of the wrong type); the
     *     message names the supported values. No other exception is thrown for any metadata.
     */
    static Tokenizer fromGguf(GgufMetadata metadata) {
        return GgufTokenizer.create(metadata);
    }

    /**
     * Encodes text.
     *
     * @param addSpecial add BOS/EOS as the model asks ({@code tokenizer.ggml.add_bos_token} /
     *     {@code add_eos_token}; SentencePiece models add BOS by default)
     * @param parseSpecial recognise the text of control tokens (e.g. {@code <|im_start|>}) in the
     *     input; when false such text is tokenized as ordinary characters. User-defined tokens are
     *     always recognised.
     */
    int[] encode(String text, boolean addSpecial, boolean parseSpecial);

    /** {@code encode(text, true, false)}. */
    default int[] encode(String text) {
        return encode(text, true, false);
    }

    /** {@code decode(tokens, false)}: control tokens hidden. */
    default String decode(int[] tokens) {
        return decode(tokens, false);
    }

    /**
     * Decodes tokens like llama.cpp's {@code llama_detokenize(..., remove_special=false, ...)}:
     * byte tokens are merged into UTF-8 (invalid sequences become U+FFFD); for SentencePiece models
     * one leading space of the first token is removed unless the first token is BOS (it undoes the
     * space prefix that encoding adds); byte-level BPE models whose pre-tokenizer asks for it
     * (gpt-2, llama-bpe) get llama.cpp's clean-up of spaces before {@code ? ! . ,} and contractions.
     *
     * @param renderSpecial render control and unknown tokens as their text instead of hiding them
     */
    String decode(int[] tokens, boolean renderSpecial);

    /** {@code tokenBytes(id, false)}. */
    default byte[] tokenBytes(int id) {
        return tokenBytes(id, false);
    }

    /**
     * The raw bytes a token contributes to output: a byte token its byte, SentencePiece {@code ▁} a
     * space, GPT-2 byte-level characters their bytes; control and unknown tokens their text when
     * {@code renderSpecial}, else nothing. Returns a fresh array.
     */
    byte[] tokenBytes(int id, boolean renderSpecial);

    /** The vocabulary string as stored in the GGUF file. */
    String piece(int id);

    int vocabularySize();

    /** Beginning-of-sequence id, or -1 when the model has none. */
    int bosId();

    /** End-of-sequence id, or -1 when the model has none. */
    int eosId();

    /** Whether the model adds BOS when {@code encode(..., addSpecial=true, ...)}. */
    boolean addsBos();

    /**
     * Whether generation should stop at this token: EOS, EOT ({@code tokenizer.ggml.eot_token_id}),
     * EOM, and the end-of-turn tokens llama.cpp recognises by text ({@code <|im_end|>},
     * {@code <|eot_id|>}, {@code <|end_of_text|>}, {@code <|endoftext|>}, {@code <end_of_turn>}, ...).
     */
    boolean isEndOfGeneration(int id);

    /** Control, user-defined or unknown token. */
    boolean isSpecial(int id);

    /** A streaming decoder that hides control tokens. */
    default TokenDecoder newDecoder() {
        return newDecoder(false);
    }

    /** A streaming decoder; {@code renderSpecial} renders control tokens as text. */
    TokenDecoder newDecoder(boolean renderSpecial);
}
