package io.kvcache.tokenizer;

import io.kvcache.gguf.GgufArray;
import io.kvcache.gguf.GgufMetadata;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The token table read from {@code tokenizer.ggml.*}: pieces, scores, kinds, special ids and the
 * end-of-generation set, with llama.cpp's defaults and text-based detection of end-of-turn tokens.
 * Immutable after construction.
 */
final class Vocabulary {

    static final byte NORMAL = 1;
    static final byte UNKNOWN = 2;
    static final byte CONTROL = 3;
    static final byte USER_DEFINED = 4;
    static final byte UNUSED = 5;
    static final byte BYTE = 6;

    /** Texts llama.cpp treats as end-of-generation wherever they appear in a vocabulary. */
    private static final Set<String> EOG_TEXTS = Set.of(
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
            "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>");

    /** Texts llama.cpp picks the EOT token from when {@code tokenizer.ggml.eot_token_id} is absent. */
    private static final Set<String> EOT_TEXTS = Set.of(
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
            "<|end_of_text|>", "<EOT>", "_<EOT>", "<end_of_utterance>");

    final String model;
    final String pre;
    final String[] pieces;
    final float[] scores;
    final byte[] kinds;
    final Map<String, Integer> ids;
    final int bos;
    final int eos;
    final int eot;
    final int unk;
    final boolean addBos;
    final boolean addEos;
    final boolean addSpacePrefix;
    final BitSet endOfGeneration;
    /** Control, user-defined and unknown tokens, longest text first (ties: lower id first). */
    final int[] specialsLongestFirst;

    Vocabulary(GgufMetadata md) {
        this.model = md.optionalString("tokenizer.ggml.model").orElseThrow(() -> new IllegalArgumentException(
                "GGUF metadata has no tokenizer.ggml.model; this file carries no tokenizer (supported models: "
                        + Tokenizer.SUPPORTED_MODELS + ")"));
        boolean spm = model.equals("llama");
        if (!spm && !model.equals("gpt2")) {
            throw new IllegalArgumentException("unsupported tokenizer model '" + model
                    + "' (tokenizer.ggml.model); supported: " + Tokenizer.SUPPORTED_MODELS
                    + " — use a GGUF whose vocabulary is SentencePiece (llama) or byte-level BPE (gpt2)");
        }
        this.pre = md.optionalString("tokenizer.ggml.pre").orElse("default");
        this.pieces = converted("tokenizer.ggml.tokens", () -> md.getArray("tokenizer.ggml.tokens").asStrings());
        int n = pieces.length;
        if (n == 0) {
            throw new IllegalArgumentException("tokenizer.ggml.tokens is empty; the GGUF vocabulary is malformed");
        }
        this.scores = converted("tokenizer.ggml.scores",
                () -> md.optionalArray("tokenizer.ggml.scores").map(Vocabulary::floats).orElseGet(() -> new float[n]));
        this.kinds = new byte[n];
        int[] types = converted("tokenizer.ggml.token_type",
                () -> md.optionalArray("tokenizer.ggml.token_type").map(GgufArray::asInts).orElse(null));
        if (scores.length < n || (types != null && types.length < n)) {
            throw new IllegalArgumentException("tokenizer.ggml.scores/token_type are shorter than tokenizer.ggml.tokens ("
                    + n + "); the GGUF vocabulary is malformed");
        }
        this.ids = HashMap.newHashMap(n);
        for (int i = 0; i < n; i++) {
            if (pieces[i].isEmpty()) {
                pieces[i] = "[EMPTY_" + i + "]"; // as llama.cpp, so every piece is a distinct key
            }
            if (ids.putIfAbsent(pieces[i], i) != null) {
                throw new IllegalArgumentException("duplicate token in vocabulary: '" + pieces[i] + "' has ids "
                        + ids.get(pieces[i]) + " and " + i + "; the GGUF vocabulary is malformed");
            }
            int t = types == null ? NORMAL : types[i];
            kinds[i] = (byte) (t >= NORMAL && t <= BYTE ? t : 0);
        }

        int defaultBos = spm ? 1 : 11;
        int defaultEos = spm ? 2 : 11;
        int defaultUnk = spm ? 0 : -1;
        this.bos = specialId(md, "tokenizer.ggml.bos_token_id", defaultBos, n);
        this.eos = specialId(md, "tokenizer.ggml.eos_token_id", defaultEos, n);
        this.unk = specialId(md, "tokenizer.ggml.unknown_token_id", defaultUnk, n);
        int eomId = specialId(md, "tokenizer.ggml.eom_token_id", -1, n);
        int eotId = specialId(md, "tokenizer.ggml.eot_token_id", -1, n);
        boolean llama3 = !spm && PreTokenizer.isLlama3(pre);
        this.addBos = md.getBoolean("tokenizer.ggml.add_bos_token", spm || llama3);
        this.addEos = md.getBoolean("tokenizer.ggml.add_eos_token", false);
        this.addSpacePrefix = md.getBoolean("tokenizer.ggml.add_space_prefix", spm);
        if (addBos && bos < 0) {
            throw new IllegalArgumentException("tokenizer.ggml.add_bos_token is true but the model has no BOS token; "
                    + "set tokenizer.ggml.bos_token_id");
        }
        if (addEos && eos < 0) {
            throw new IllegalArgumentException("tokenizer.ggml.add_eos_token is true but the model has no EOS token; "
                    + "set tokenizer.ggml.eos_token_id");
        }

        // llama.cpp finds EOT/EOM and the end-of-generation set by token text and forces such tokens to
        // be control tokens, so they are hidden on output and parsed only as special text.
        this.endOfGeneration = new BitSet(n);
        for (int i = 0; i < n; i++) {
            String p = pieces[i];
            if (eotId < 0 && EOT_TEXTS.contains(p)) {
                eotId = i;
                kinds[i] = CONTROL;
            }
            if (eomId < 0 && p.equals("<|eom_id|>")) {
                eomId = i;
                kinds[i] = CONTROL;
            }
            if (EOG_TEXTS.contains(p)) {
                endOfGeneration.set(i);
                kinds[i] = CONTROL;
            }
        }
        for (int id : new int[] {eos, eotId, eomId}) {
            if (id >= 0) {
                endOfGeneration.set(id);
            }
        }
        this.eot = eotId;

        List<Integer> specials = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (kinds[i] == CONTROL || kinds[i] == USER_DEFINED || kinds[i] == UNKNOWN) {
                specials.add(i);
            }
        }
        specials.sort(Comparator.<Integer>comparingInt(i -> -pieces[i].length()).thenComparingInt(i -> i));
        this.specialsLongestFirst = specials.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Reads an array key, naming the key when its elements have the wrong type. */
    static <T extends @Nullable Object> T converted(String key, java.util.function.Supplier<T> read) {
        try {
            return read.get();
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(key + " has the wrong element type (" + e.getMessage()
                    + "); the GGUF vocabulary is malformed", e);
        }
    }

    private static float[] floats(GgufArray a) {
        try {
            return a.asFloats();
        } catch (IllegalStateException notFloats) {
            int[] ints = a.asInts();
            float[] f = new float[ints.length];
            for (int i = 0; i < ints.length; i++) {
                f[i] = ints[i];
            }
            return f;
        }
    }

    /** An id from metadata, ignored (default kept) when outside the vocabulary, as llama.cpp does. */
    private static int specialId(GgufMetadata md, String key, int defaultId, int n) {
        int id = defaultId >= n ? -1 : defaultId;
        OptionalLong v = md.optionalLong(key);
        if (v.isPresent() && v.getAsLong() >= 0 && v.getAsLong() < n) {
            id = (int) v.getAsLong();
        }
        return id;
    }

    int size() {
        return pieces.length;
    }

    int id(String text) {
        Integer id = ids.get(text);
        return id == null ? -1 : id;
    }

    boolean isHiddenUnlessRendered(int id) {
        return kinds[id] == CONTROL || kinds[id] == UNKNOWN;
    }

    boolean isSpecial(int id) {
        byte k = kinds[id];
        return k == CONTROL || k == USER_DEFINED || k == UNKNOWN;
    }
}
