package io.kvcache.tokenizer;

/** Encodes a piece of input that contains no special token. Implementations are thread-safe. */
interface FragmentEncoder {

    /**
     * Appends the tokens of {@code text} to {@code out}.
     *
     * @param atStartOrAfterSpecial the fragment opens the input or follows a special token (where
     *     SentencePiece adds its space prefix)
     */
    void encode(String text, boolean atStartOrAfterSpecial, IntList out);
}
