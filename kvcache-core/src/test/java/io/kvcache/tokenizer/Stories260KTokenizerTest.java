package io.kvcache.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgufFile;
import io.kvcache.testing.Json;
import io.kvcache.testing.SharedModels;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The tokenizer against llama.cpp's reference runs in {@code shared/reference}. */
class Stories260KTokenizerTest {

    static Tokenizer load(String model) {
        try (GgufFile gguf = GgufFile.open(SharedModels.model(model))) {
            return Tokenizer.fromGguf(gguf.metadata());
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> reference(String name) throws IOException {
        return (Map<String, Object>) Json.parse(Files.readString(SharedModels.reference(name), StandardCharsets.UTF_8));
    }

    @TestFactory
    Stream<DynamicTest> promptTokensMatchLlamaCpp() throws IOException {
        Path dir = SharedModels.reference("stories260K.bos.json").getParent();
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.getFileName().toString().matches("(stories260K|TinyStories-656K-.*)\\..*\\.json"))
                    .sorted().toList();
        }
        assertTrue(files.size() >= 5, "reference files found: " + files);
        return files.stream().map(file -> DynamicTest.dynamicTest(file.getFileName().toString(), () -> {
            Map<String, Object> ref = reference(file.getFileName().toString());
            Tokenizer tokenizer = load((String) ref.get("model"));
            String prompt = (String) ref.get("prompt");
            int[] expected = Json.ints(ref.get("prompt_tokens"));
            assertArrayEquals(expected, tokenizer.encode(prompt), "prompt_tokens of " + file.getFileName());
            List<?> pieces = (List<?>) ref.get("prompt_pieces");
            for (int i = 0; i < expected.length; i++) {
                String rendered = new String(tokenizer.tokenBytes(expected[i], true), StandardCharsets.UTF_8);
                assertEquals(pieces.get(i), rendered, "piece " + i);
            }
        }));
    }

    @Test
    void greedyTokensDecodeToGreedyText() throws IOException {
        Map<String, Object> ref = reference("stories260K.bos.json");
        Tokenizer tokenizer = load("stories260K.gguf");
        int[] greedy = Json.ints(ref.get("greedy_tokens"));
        String greedyText = (String) ref.get("greedy_text");
        assertEquals(200, greedy.length);
        assertTrue(greedyText.startsWith(" Once upon a time, there was a little girl named Lily."));

        // After BOS nothing is stripped (llama.cpp's detokenize): the generated text exactly.
        int[] withBos = IntStream.concat(IntStream.of(tokenizer.bosId()), IntStream.of(greedy)).toArray();
        assertEquals(greedyText, tokenizer.decode(withBos));
        // Alone, the first piece loses the space that SentencePiece's space prefix stands for.
        assertEquals(greedyText.substring(1), tokenizer.decode(greedy));

        // Streaming prints pieces as they are: the same text, chunk by chunk.
        TokenDecoder decoder = tokenizer.newDecoder();
        StringBuilder streamed = new StringBuilder();
        for (int id : withBos) {
            streamed.append(decoder.append(id));
        }
        streamed.append(decoder.flush());
        assertEquals(greedyText, streamed.toString());

        // and the text encodes back to the same ids
        assertArrayEquals(withBos, tokenizer.encode(greedyText.substring(1)));
    }

    @Test
    void stories260KVocabularyFacts() {
        Tokenizer t = load("stories260K.gguf");
        assertEquals(512, t.vocabularySize());
        assertEquals(1, t.bosId());
        assertEquals(2, t.eosId());
        assertEquals("<s>", t.piece(1));
        assertEquals("<0x0A>", t.piece(13));
        assertArrayEquals(new byte[] {'\n'}, t.tokenBytes(13));
        assertArrayEquals(new byte[0], t.tokenBytes(1), "BOS is hidden by default");
        assertArrayEquals("<s>".getBytes(StandardCharsets.UTF_8), t.tokenBytes(1, true));
        assertTrue(t.isEndOfGeneration(2));
        assertFalse(t.isEndOfGeneration(13));
        assertTrue(t.isSpecial(0) && t.isSpecial(1) && t.isSpecial(2));
        assertFalse(t.isSpecial(403));
        assertEquals("\u2581Once", t.piece(403));
        assertArrayEquals(" Once".getBytes(StandardCharsets.UTF_8), t.tokenBytes(403));
        // A character outside the 512-token vocabulary falls back to its UTF-8 byte tokens (<0xNN> = 3 + byte).
        int[] ids = t.encode("\uD83E\uDD99", false, false); // llama emoji, F0 9F A6 99
        assertArrayEquals(new int[] {410, 3 + 0xF0, 3 + 0x9F, 3 + 0xA6, 3 + 0x99}, ids);
        assertEquals("\u2581", t.piece(410));
        assertEquals("\uD83E\uDD99", t.decode(ids));
    }
}
