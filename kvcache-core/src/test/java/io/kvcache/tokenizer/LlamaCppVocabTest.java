package io.kvcache.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgufFile;
import io.kvcache.testing.SharedModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * llama.cpp's tokenizer test vectors ({@code test-tokenizer-0}): every string of
 * {@code <vocab>.inp} must encode, without BOS, to exactly the ids of the matching line of
 * {@code <vocab>.out}, and decode back to the input.
 */
class LlamaCppVocabTest {

    /** How test-tokenizer-0 splits the .inp file. */
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    record Case(int index, String text, int[] ids) {
    }

    static List<Case> readCases(Path vocab) throws IOException {
        String raw = Files.readString(Path.of(vocab + ".inp"), StandardCharsets.UTF_8);
        List<String> inputs = new ArrayList<>();
        int pos = 0;
        while (pos < raw.length()) {
            int next = raw.indexOf(SEPARATOR, pos);
            if (next < 0) {
                inputs.add(raw.substring(pos));
                break;
            }
            inputs.add(raw.substring(pos, next));
            pos = next + SEPARATOR.length();
        }
        List<String> outputs = Files.readAllLines(Path.of(vocab + ".out"), StandardCharsets.UTF_8);
        assertEquals(inputs.size(), outputs.size(), "test strings vs expected lines");
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String line = outputs.get(i).strip();
            int[] ids = line.isEmpty() ? new int[0] : Arrays.stream(line.split(" ")).mapToInt(Integer::parseInt).toArray();
            cases.add(new Case(i, inputs.get(i), ids));
        }
        return cases;
    }

    private static Stream<DynamicTest> vocabTests(String file, java.util.function.UnaryOperator<String> expectedDecode)
            throws IOException {
        Path path = SharedModels.model("vocab/" + file);
        Tokenizer tokenizer;
        try (GgufFile gguf = GgufFile.open(path)) {
            tokenizer = Tokenizer.fromGguf(gguf.metadata());
        }
        List<Case> cases = readCases(path);
        assertEquals(46, cases.size(), "llama.cpp ships 46 test strings");
        return cases.stream().map(c -> DynamicTest.dynamicTest("#" + c.index + " " + preview(c.text), () -> {
            int[] ids = tokenizer.encode(c.text, false, false);
            assertArrayEquals(c.ids, ids, () -> "ids of " + preview(c.text));
            assertEquals(expectedDecode.apply(c.text), tokenizer.decode(ids), "decoded text");
        }));
    }

    private static String preview(String s) {
        String escaped = s.replace("\n", "\\n").replace("\t", "\\t");
        return escaped.length() > 40 ? escaped.substring(0, 40) + "…" : escaped;
    }

    @Test
    void concurrentEncodingAgreesWithTheVectors() throws Exception {
        // as test-tokenizer-0, which tokenizes from several threads at once: tokenizers are shared
        for (String file : List.of("ggml-vocab-gpt-2.gguf", "ggml-vocab-llama-spm.gguf")) {
            Path path = SharedModels.model("vocab/" + file);
            Tokenizer tokenizer;
            try (GgufFile gguf = GgufFile.open(path)) {
                tokenizer = Tokenizer.fromGguf(gguf.metadata());
            }
            List<Case> cases = readCases(path);
            try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int thread = 0; thread < 4; thread++) {
                    results.add(pool.submit(() -> {
                        for (int round = 0; round < 20; round++) {
                            for (Case c : cases) {
                                if (!Arrays.equals(c.ids, tokenizer.encode(c.text, false, false))) {
                                    return false;
                                }
                            }
                        }
                        return true;
                    }));
                }
                for (Future<Boolean> result : results) {
                    assertTrue(result.get(), file);
                }
            }
        }
    }

    @Test
    void emptyTextGivesOnlyTheSpecialTokens() throws IOException {
        try (GgufFile gguf = GgufFile.open(SharedModels.model("vocab/ggml-vocab-llama-spm.gguf"))) {
            Tokenizer spm = Tokenizer.fromGguf(gguf.metadata());
            assertArrayEquals(new int[] {1}, spm.encode(""), "as SentencePiece: BOS alone");
            assertArrayEquals(new int[0], spm.encode("", false, false));
            assertEquals("", spm.decode(new int[0]));
        }
    }

    @TestFactory
    Stream<DynamicTest> llamaSpm() throws IOException {
        // Without BOS the space prefix added by encoding is removed by decoding: an exact round trip.
        return vocabTests("ggml-vocab-llama-spm.gguf", s -> s);
    }

    @TestFactory
    Stream<DynamicTest> gpt2() throws IOException {
        // gpt-2 decoding applies llama.cpp's clean_spaces: " ?" loses its space (two inputs contain "😁 ?").
        return vocabTests("ggml-vocab-gpt-2.gguf", s -> s.replace(" ?", "?"));
    }
}
