package io.kvcache.tokenizer;

/**
 * Turns a stream of token ids into text without ever splitting a character: bytes of an
 * incomplete UTF-8 sequence (for example the first two byte tokens of a three-byte CJK character)
 * are held until the sequence completes.
 *
 * <p>The text is the concatenation of {@link Tokenizer#tokenBytes(int)} of every token, exactly as
 * llama.cpp prints generated pieces: unlike {@link Tokenizer#decode(int[])} no leading space is
 * removed and no clean-up of spaces is applied, so a continuation of a prompt streams correctly.
 *
 * <p>Not thread-safe: use one decoder per generation stream.
 */
public interface TokenDecoder {

    /**
     * Adds one token and returns the text that is now complete (possibly empty). Bytes that can never
     * form valid UTF-8 are returned as U+FFFD right away.
     */
    String append(int tokenId);

    /** Returns whatever is still held (an unfinished sequence becomes U+FFFD) and empties the decoder. */
    String flush();

    /** Whether bytes of an unfinished character are held. */
    boolean hasPendingBytes();
}
