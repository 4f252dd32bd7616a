package io.kvcache.sample;

import io.kvcache.gguf.GgufArray;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufMetadata;
import io.kvcache.gguf.GgufValueType;
import io.kvcache.gguf.GgufWriter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The demo model's tokenizer: SentencePiece with byte fallback (any text tokenizes) over a few
 * hundred common English words, so that a random-weight model prints random words rather than
 * random bytes. Byte tokens other than printable ASCII and newline are control tokens: they still
 * encode any input, but when the random model picks one it prints nothing instead of a broken
 * UTF-8 sequence. Stateless and thread-safe.
 */
final class DemoVocabulary {
    private static final byte NORMAL = 1;
    private static final byte UNKNOWN = 2;
    private static final byte CONTROL = 3;
    private static final byte BYTE = 6;

    private static final String WORDS = """
            the a an and but so then when once upon time there was were is are be been had has have
            he she it they we you i his her their our my your him them me us this that these those
            one two three little big small old new happy sad good bad kind brave funny warm cold red
            blue green yellow bright dark soft loud quiet fast slow tall long short best nice pretty
            day night morning sun moon sky star tree flower garden park house home room door window
            bed table box ball toy book cake cookie apple water river sea boat car bike road hill
            forest friend friends mom dad mother father sister brother girl boy baby dog cat bird
            fish bunny bear frog duck lion mouse owl king queen girl boy teacher family
            said asked saw looked went came ran jumped walked played liked loved wanted found made
            gave took got felt thought knew smiled laughed cried shouted helped shared opened
            closed climbed danced sang ate drank slept woke tried learned showed told heard
            to of in on at for with from into over under near by up down out away back around
            not very too also all every some many no yes more most other again together always
            never now soon after before because if then how what where who why which
            play run jump look go come see help make find give take eat sleep sing dance smile
            lily tim tom ben sue max anna sam mia lucy spot
            """;

    private static final String SUFFIXES = "s ed ing ly er est y";

    private DemoVocabulary() {
    }

    /** The {@code tokenizer.*} metadata, for {@code SyntheticModel.Builder.tokenizerFrom}. */
    static GgufMetadata metadata() {
        List<String> tokens = new ArrayList<>();
        List<Integer> types = new ArrayList<>();
        add(tokens, types, "<unk>", UNKNOWN);
        add(tokens, types, "<s>", CONTROL);
        add(tokens, types, "</s>", CONTROL);
        for (int b = 0; b < 256; b++) {
            boolean printable = b == '\n' || (b >= 0x20 && b < 0x7F);
            add(tokens, types, String.format("<0x%02X>", b), printable ? BYTE : CONTROL);
        }
        Set<String> pieces = new LinkedHashSet<>();
        pieces.add("\u2581");
        for (char c = 'a'; c <= 'z'; c++) {
            pieces.add(String.valueOf(c));
        }
        for (char c = 'A'; c <= 'Z'; c++) {
            pieces.add(String.valueOf(c));
        }
        for (char c : ".,!?'\"-:;0123456789".toCharArray()) {
            pieces.add(String.valueOf(c));
        }
        for (String suffix : SUFFIXES.split(" ")) {
            pieces.add(suffix);
        }
        for (String word : WORDS.strip().split("\\s+")) {
            pieces.add("\u2581" + word);
            pieces.add("\u2581" + Character.toUpperCase(word.charAt(0)) + word.substring(1));
        }
        for (String piece : List.of("\u2581.", "\u2581,", "\u2581!", ".\n", "\n")) {
            pieces.add(piece);
        }
        pieces.removeIf(tokens::contains);
        for (String p : pieces) {
            add(tokens, types, p, NORMAL);
        }
        float[] scores = new float[tokens.size()];
        int[] typeIds = new int[tokens.size()];
        for (int i = 0; i < scores.length; i++) {
            typeIds[i] = types.get(i);
            // SentencePiece merges the highest-scoring pieces first: longer words win.
            scores[i] = typeIds[i] == NORMAL ? tokens.get(i).length() - i * 1e-4f : -1e4f;
        }
        GgufWriter w = new GgufWriter();
        w.putString("tokenizer.ggml.model", "llama");
        w.putArray("tokenizer.ggml.tokens", GgufArray.ofStrings(tokens.toArray(String[]::new)));
        w.putArray("tokenizer.ggml.scores", GgufArray.ofFloats(scores));
        w.putArray("tokenizer.ggml.token_type", GgufArray.ofInts(GgufValueType.INT32, typeIds));
        w.putUint32("tokenizer.ggml.unknown_token_id", 0);
        w.putUint32("tokenizer.ggml.bos_token_id", 1);
        w.putUint32("tokenizer.ggml.eos_token_id", 2);
        w.putBool("tokenizer.ggml.add_bos_token", true);
        try (GgufFile file = GgufFile.read(w.toByteArray())) {
            return file.metadata();
        }
    }

    private static void add(List<String> tokens, List<Integer> types, String token, byte type) {
        tokens.add(token);
        types.add((int) type);
    }
}
