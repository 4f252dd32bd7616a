package io.kvcache.inference;

/**
 * The outcome of a generation.
 *
 * @param text all generated text (without the stop string that ended it)
 * @param tokens generated token ids, in order
 * @param stopReason why it ended
 * @param usage counts and timings
 */
public record GenerationResult(String text, int[] tokens, StopReason stopReason, Usage usage)
        implements GenerationEvent {

    public GenerationResult {
        tokens = tokens.clone();
    }

    @Override
    public int[] tokens() {
        return tokens.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GenerationResult r && text.equals(r.text) && java.util.Arrays.equals(tokens, r.tokens)
                && stopReason == r.stopReason && usage.equals(r.usage);
    }

    @Override
    public int hashCode() {
        return text.hashCode() * 31 + java.util.Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return "GenerationResult[" + stopReason + ", " + tokens.length + " tokens, text=" + text + "]";
    }
}
