package io.kvcache.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * SentencePiece-style encoding as llama.cpp's {@code llm_tokenizer_spm}: start from single
 * characters, repeatedly merge the adjacent pair whose concatenation is the vocabulary token with
 * the highest score (ties: leftmost), then map leftover symbols that are not tokens to byte tokens
 * ({@code <0xNN>}), or to the unknown token when the vocabulary has no byte tokens.
 * Immutable and thread-safe; each call uses its own working arrays.
 */
final class SpmEncoder implements FragmentEncoder {

    private static final String SPM_SPACE = "\u2581";

    private final Vocabulary vocab;
    private final int[] byteTokens = new int[256];

    SpmEncoder(Vocabulary vocab) {
        this.vocab = vocab;
        for (int b = 0; b < 256; b++) {
            int id = vocab.id(String.format("<0x%02X>", b));
            if (id < 0 && b < 0x80) {
                id = vocab.id(String.valueOf((char) b));
            }
            byteTokens[b] = id >= 0 ? id : vocab.unk;
        }
    }

    private record Bigram(int left, int right, float score, int length) {
    }

    /** Adds the space prefix where SentencePiece does, writes spaces as {@code ▁}, then merges. */
    @Override
    public void encode(String fragment, boolean atStartOrAfterSpecial, IntList out) {
        String prefixed = vocab.addSpacePrefix && atStartOrAfterSpecial ? " " + fragment : fragment;
        encodeEscaped(prefixed.replace(" ", SPM_SPACE), out);
    }

    /** Appends the tokens of {@code text} (already with {@code ▁} for spaces) to {@code out}. */
    void encodeEscaped(String text, IntList out) {
        int n = text.codePointCount(0, text.length());
        if (n == 0) {
            return;
        }
        // symbol i covers text[start[i], start[i] + len[i]) in chars; len 0 = merged away
        int[] start = new int[n];
        int[] len = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, pos = 0; i < n; i++) {
            int cp = text.codePointAt(pos);
            start[i] = pos;
            len[i] = Character.charCount(cp);
            pos += len[i];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(
                (a, b) -> a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        Map<String, Integer> reverseMerges = new HashMap<>();
        for (int i = 1; i < n; i++) {
            tryAddBigram(text, start, len, i - 1, i, queue, reverseMerges);
        }
        while (!queue.isEmpty()) {
            Bigram bigram = queue.poll();
            int l = bigram.left;
            int r = bigram.right;
            if (len[l] == 0 || len[r] == 0 || len[l] + len[r] != bigram.length) {
                continue; // stale: one side was merged since this pair was queued
            }
            len[l] += len[r];
            len[r] = 0;
            next[l] = next[r];
            if (next[r] >= 0) {
                prev[next[r]] = l;
            }
            tryAddBigram(text, start, len, prev[l], l, queue, reverseMerges);
            tryAddBigram(text, start, len, l, next[l], queue, reverseMerges);
        }
        for (int i = 0; i != -1; i = next[i]) {
            resegment(text, start[i], len[i], out, reverseMerges);
        }
    }

    private void tryAddBigram(String text, int[] start, int[] len, int left, int right,
            PriorityQueue<Bigram> queue, Map<String, Integer> reverseMerges) {
        if (left < 0 || right < 0) {
            return;
        }
        int length = len[left] + len[right];
        String merged = text.substring(start[left], start[left] + length);
        int id = vocab.id(merged);
        if (id < 0) {
            return;
        }
        queue.add(new Bigram(left, right, vocab.scores[id], length));
        reverseMerges.put(merged, len[left]);
    }

    private void resegment(String text, int from, int length, IntList out, Map<String, Integer> reverseMerges) {
        String symbol = text.substring(from, from + length);
        int id = vocab.id(symbol);
        if (id >= 0) {
            out.add(id);
            return;
        }
        Integer leftLength = reverseMerges.get(symbol);
        if (leftLength == null) {
            for (byte b : symbol.getBytes(StandardCharsets.UTF_8)) {
                out.add(byteTokens[b & 0xFF]);
            }
            return;
        }
        resegment(text, from, leftLength, out, reverseMerges);
        resegment(text, from + leftLength, length - leftLength, out, reverseMerges);
    }
}
