package io.kvcache.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits text into words before byte-level BPE, with the regexes llama.cpp uses for each
 * {@code tokenizer.ggml.pre} value. Like llama.cpp, the regexes are applied one after another, each
 * to the pieces of the previous one, and text a regex does not match is kept as its own piece.
 * Immutable and thread-safe.
 */
final class PreTokenizer {

    private static final String GPT2 =
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
    private static final String LLAMA3 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final String QWEN2 =
            "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                    + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    /** Pre-tokenizer names and the regexes llama.cpp applies for them (llama-vocab.cpp). */
    private static final Map<String, List<String>> REGEXES = Map.ofEntries(
            Map.entry("gpt-2", List.of(GPT2)),
            Map.entry("phi-2", List.of(GPT2)),
            Map.entry("mpt", List.of(GPT2)),
            Map.entry("olmo", List.of(GPT2)),
            Map.entry("llama-bpe", List.of(LLAMA3)),
            Map.entry("llama3", List.of(LLAMA3)),
            Map.entry("llama-v3", List.of(LLAMA3)),
            Map.entry("dbrx", List.of(LLAMA3)),
            Map.entry("smaug-bpe", List.of(LLAMA3)),
            Map.entry("qwen2", List.of(QWEN2)),
            Map.entry("deepseek-r1-qwen", List.of(QWEN2)),
            Map.entry("stablelm2", List.of(QWEN2)),
            Map.entry("smollm", List.of("\\p{N}", GPT2)),
            Map.entry("starcoder", List.of("\\p{N}", GPT2)),
            Map.entry("refact", List.of("\\p{N}", GPT2)));

    /** Pre-tokenizers after which llama.cpp does not clean up spaces when decoding. */
    private static final List<String> NO_CLEAN_SPACES = List.of("qwen2", "deepseek-r1-qwen", "smollm");

    private final List<Pattern> patterns;
    final boolean ignoreMerges;
    final boolean cleanSpaces;

    private PreTokenizer(List<Pattern> patterns, boolean ignoreMerges, boolean cleanSpaces) {
        this.patterns = patterns;
        this.ignoreMerges = ignoreMerges;
        this.cleanSpaces = cleanSpaces;
    }

    static boolean isLlama3(String pre) {
        return pre.equals("llama-bpe") || pre.equals("llama3") || pre.equals("llama-v3");
    }

    static PreTokenizer forName(String pre) {
        // gpt2-model GGUFs without a pre-tokenizer name were converted before names existed: GPT-2's.
        String name = pre.equals("default") ? "gpt-2" : pre;
        List<String> regexes = REGEXES.get(name);
        if (regexes == null) {
            throw new IllegalArgumentException("unsupported pre-tokenizer '" + pre + "' (tokenizer.ggml.pre); supported: "
                    + REGEXES.keySet().stream().sorted().toList());
        }
        // UNICODE_CHARACTER_CLASS makes \s the Unicode White_Space set, which is llama.cpp's whitespace set.
        List<Pattern> compiled = regexes.stream()
                .map(r -> Pattern.compile(r, Pattern.UNICODE_CHARACTER_CLASS))
                .toList();
        return new PreTokenizer(compiled, isLlama3(name), !NO_CLEAN_SPACES.contains(name));
    }

    /** The words of {@code text}, in order; their concatenation is {@code text}. */
    List<String> split(String text) {
        List<String> pieces = List.of(text);
        for (Pattern p : patterns) {
            List<String> next = new ArrayList<>(pieces.size() * 2);
            for (String piece : pieces) {
                splitOne(p.matcher(piece), piece, next);
            }
            pieces = next;
        }
        return pieces;
    }

    private static void splitOne(Matcher m, String piece, List<String> out) {
        int last = 0;
        while (m.find()) {
            if (m.start() > last) {
                out.add(piece.substring(last, m.start()));
            }
            if (m.end() > m.start()) {
                out.add(piece.substring(m.start(), m.end()));
            }
            last = m.end();
        }
        if (last < piece.length()) {
            out.add(piece.substring(last));
        }
    }
}
