package io.kvcache.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE as llama.cpp's {@code llm_tokenizer_bpe}: each pre-tokenized word becomes its
 * UTF-8 bytes in GPT-2's byte-level alphabet, then the adjacent pair with the lowest merge rank
 * (ties: leftmost) is merged until no merge applies. Symbols are interned to ints (vocabulary ids,
 * or extra ids for merge results that are not tokens), so a merge lookup is one hash probe.
 * Results are cached per word in a bounded concurrent map. Thread-safe.
 */
final class BpeEncoder implements FragmentEncoder {

    private static final int CACHE_LIMIT = 1 << 16;

    private final Vocabulary vocab;
    private final PreTokenizer preTokenizer;
    /** (left symbol, right symbol) -> (rank << 32 | merged symbol). */
    private final LongLongMap merges;
    /** Texts of symbols that are not vocabulary tokens, at index id - vocabularySize. */
    private final List<String> extraSymbols = new ArrayList<>();
    private final int[] byteSymbols = new int[256];
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    BpeEncoder(Vocabulary vocab, PreTokenizer preTokenizer, String[] mergeRules) {
        this.vocab = vocab;
        this.preTokenizer = preTokenizer;
        Map<String, Integer> extraIds = new HashMap<>();
        this.merges = new LongLongMap(mergeRules.length * 2);
        for (int rank = 0; rank < mergeRules.length; rank++) {
            String rule = mergeRules[rank];
            int space = rule.indexOf(' ', 1);
            if (space < 0) {
                continue; // llama.cpp keeps such a rule as ("", "") which can never apply
            }
            String left = rule.substring(0, space);
            String right = rule.substring(space + 1);
            long key = pair(symbol(left, extraIds), symbol(right, extraIds));
            if (!merges.containsKey(key)) { // the first (lowest) rank wins, as emplace() in llama.cpp
                merges.put(key, ((long) rank << 32) | symbol(left + right, extraIds));
            }
        }
        for (int b = 0; b < 256; b++) {
            byteSymbols[b] = symbol(String.valueOf(ByteLevel.charOf(b)), extraIds);
        }
    }

    private int symbol(String text, Map<String, Integer> extraIds) {
        int id = vocab.id(text);
        if (id >= 0) {
            return id;
        }
        return extraIds.computeIfAbsent(text, t -> {
            extraSymbols.add(t);
            return vocab.size() + extraSymbols.size() - 1;
        });
    }

    private static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    /** Pre-tokenizes {@code text} and appends the tokens of each word; no space prefix in byte-level BPE. */
    @Override
    public void encode(String text, boolean atStartOrAfterSpecial, IntList out) {
        for (String word : preTokenizer.split(text)) {
            int[] tokens = cache.get(word);
            if (tokens == null) {
                tokens = encodeWord(word);
                if (cache.size() >= CACHE_LIMIT) {
                    cache.clear(); // crude but bounded; hot words come back quickly
                }
                cache.put(word, tokens);
            }
            out.addAll(tokens);
        }
    }

    private record Bigram(int left, int right, int leftSymbol, int rightSymbol, int rank, int merged) {
    }

    int[] encodeWord(String word) {
        byte[] utf8 = word.getBytes(StandardCharsets.UTF_8);
        if (preTokenizer.ignoreMerges) {
            int whole = vocab.id(ByteLevel.encode(utf8));
            if (whole >= 0) {
                return new int[] {whole};
            }
        }
        int n = utf8.length;
        int[] sym = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            sym[i] = byteSymbols[utf8[i] & 0xFF];
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Bigram> queue = new PriorityQueue<>(Math.max(1, n),
                (a, b) -> a.rank != b.rank ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) {
            addBigram(i - 1, i, sym, queue);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            if (dead[b.left] || dead[b.right] || sym[b.left] != b.leftSymbol || sym[b.right] != b.rightSymbol
                    || next[b.left] != b.right) {
                continue; // outdated: a neighbour changed since it was queued
            }
            sym[b.left] = b.merged;
            dead[b.right] = true;
            next[b.left] = next[b.right];
            if (next[b.right] >= 0) {
                prev[next[b.right]] = b.left;
            }
            addBigram(prev[b.left], b.left, sym, queue);
            addBigram(b.left, next[b.left], sym, queue);
        }
        IntList tokens = new IntList(n);
        for (int i = 0; i >= 0 && n > 0; i = next[i]) {
            emit(sym[i], tokens);
        }
        return tokens.toArray();
    }

    private void addBigram(int left, int right, int[] sym, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        long value = merges.get(pair(sym[left], sym[right]));
        if (value == LongLongMap.ABSENT) {
            return;
        }
        queue.add(new Bigram(left, right, sym[left], sym[right], (int) (value >>> 32), (int) value));
    }

    /** A token, or for a symbol that is not a token, its single-byte tokens (skipping absent ones). */
    private void emit(int symbol, IntList out) {
        if (symbol < vocab.size()) {
            out.add(symbol);
            return;
        }
        String text = extraSymbols.get(symbol - vocab.size());
        for (int i = 0; i < text.length(); i++) {
            int id = vocab.id(String.valueOf(text.charAt(i)));
            if (id >= 0) {
                out.add(id);
            }
        }
    }
}
