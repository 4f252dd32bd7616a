package io.kvcache.bench;

import io.kvcache.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Benchmark prompts as text that tokenizes to an exact number of tokens (BOS included), so that
 * llama.cpp, which takes text, and kvcache, which takes the ids, process the same tokens.
 * Stateless and thread-safe.
 */
public final class Prompts {
    /**
     * Words tried in turn: the first that the vocabulary encodes as one token per repetition is
     * used ({@code ▁the} in Llama vocabularies, {@code ▁a} in the synthetic default one).
     */
    private static final List<String> WORDS = List.of("the", "a");

    private Prompts() {
    }

    /** A prompt: its text and its token ids (BOS included). Immutable and thread-safe. */
    public record Prompt(String text, int[] ids) {
        public Prompt {
            ids = ids.clone();
        }

        @Override
        public int[] ids() {
            return ids.clone();
        }

        public int length() {
            return ids.length;
        }
    }

    /**
     * Text of {@code tokens - 1} words that {@code tokenizer} encodes, with BOS, to exactly
     * {@code tokens} ids.
     *
     * @throws IllegalArgumentException when {@code tokens < 2} or the vocabulary does not encode the
     *     word as one token
     */
    public static Prompt ofLength(Tokenizer tokenizer, int tokens) {
        if (tokens < 2) {
            throw new IllegalArgumentException("a benchmark prompt needs at least 2 tokens (BOS and one word), asked for "
                    + tokens);
        }
        List<String> tried = new ArrayList<>();
        for (String word : WORDS) {
            String[] words = new String[tokens - 1];
            Arrays.fill(words, word);
            String text = String.join(" ", words);
            int[] ids = tokenizer.encode(text, true, false);
            if (ids.length == tokens) {
                return new Prompt(text, ids);
            }
            tried.add("'" + word + "' -> " + ids.length);
        }
        throw new IllegalArgumentException("the model's vocabulary does not encode " + (tokens - 1)
                + " repetitions of any of " + WORDS + " as " + tokens + " tokens (BOS + one per word): " + tried
                + "; benchmark models need a Llama-style SentencePiece vocabulary");
    }

    /** Ids of a short text without BOS (a tail that makes prompts with a shared prefix differ). */
    public static int[] tail(Tokenizer tokenizer, String text) {
        return tokenizer.encode(text, false, false);
    }

    static int[] concat(int[] a, int[] b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
