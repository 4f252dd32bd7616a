package io.kvcache.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgufArray;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufMetadata;
import io.kvcache.gguf.GgufValue;
import io.kvcache.gguf.GgufValueType;
import io.kvcache.testing.SharedModels;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Special tokens on real vocabularies extended with ChatML control tokens and a user-defined token. */
class SpecialTokensTest {

    static Map<String, GgufValue> metadataOf(String model) {
        try (GgufFile gguf = GgufFile.open(SharedModels.model(model))) {
            return new HashMap<>(gguf.metadata().asMap());
        }
    }

    /** The vocabulary plus the given tokens, each with the given token type. */
    static GgufMetadata withTokens(Map<String, GgufValue> md, String[] texts, int[] types) {
        String[] tokens = ((GgufArray) md.get("tokenizer.ggml.tokens").value()).asStrings();
        int[] tokenTypes = ((GgufArray) md.get("tokenizer.ggml.token_type").value()).asInts();
        String[] newTokens = Arrays.copyOf(tokens, tokens.length + texts.length);
        int[] newTypes = Arrays.copyOf(tokenTypes, tokens.length + texts.length);
        for (int i = 0; i < texts.length; i++) {
            newTokens[tokens.length + i] = texts[i];
            newTypes[tokens.length + i] = types[i];
        }
        md.put("tokenizer.ggml.tokens", GgufValue.ofArray(GgufArray.ofStrings(newTokens)));
        md.put("tokenizer.ggml.token_type", GgufValue.ofArray(GgufArray.ofInts(GgufValueType.INT32, newTypes)));
        if (md.containsKey("tokenizer.ggml.scores")) {
            float[] scores = ((GgufArray) md.get("tokenizer.ggml.scores").value()).asFloats();
            md.put("tokenizer.ggml.scores", GgufValue.ofArray(GgufArray.ofFloats(Arrays.copyOf(scores, newTokens.length))));
        }
        return new GgufMetadata(md);
    }

    private static final String[] CHATML = {"<|im_start|>", "<|im_end|>", "<tool>"};
    private static final int[] CHATML_TYPES = {3, 3, 4};

    @Test
    void bpeParsesControlTokensOnlyWhenAsked() {
        Tokenizer t = Tokenizer.fromGguf(withTokens(metadataOf("vocab/ggml-vocab-gpt-2.gguf"), CHATML, CHATML_TYPES));
        int imStart = 50257;
        int imEnd = 50258;
        int tool = 50259;
        assertEquals("<|im_start|>", t.piece(imStart));
        String prompt = "<|im_start|>user\nHi<|im_end|>\n";

        int[] parsed = t.encode(prompt, false, true);
        int[] userHi = t.encode("user\nHi", false, false);
        int[] newline = t.encode("\n", false, false);
        int[] expected = IntStream.concat(IntStream.concat(IntStream.of(imStart), IntStream.of(userHi)),
                IntStream.concat(IntStream.of(imEnd), IntStream.of(newline))).toArray();
        assertArrayEquals(expected, parsed);

        int[] literal = t.encode(prompt, false, false);
        assertTrue(IntStream.of(literal).noneMatch(id -> id >= 50257), "no control ids without parseSpecial");
        assertEquals(prompt, t.decode(literal), "the markers were tokenized as plain text");

        assertEquals("user\nHi\n", t.decode(parsed), "control tokens hidden by default");
        assertEquals(prompt, t.decode(parsed, true));

        // user-defined tokens are recognised even without parseSpecial, and always rendered
        int[] withTool = t.encode("a<tool>b", false, false);
        assertArrayEquals(new int[] {64, tool, 65}, withTool);
        assertEquals("a<tool>b", t.decode(withTool));

        // end of generation: EOS/BOS <|endoftext|> and the text-detected <|im_end|>
        assertTrue(t.isEndOfGeneration(50256));
        assertTrue(t.isEndOfGeneration(imEnd));
        assertFalse(t.isEndOfGeneration(imStart));
        assertTrue(t.isSpecial(imStart) && t.isSpecial(tool) && t.isSpecial(50256));
        assertFalse(t.isSpecial(64));
        assertFalse(t.addsBos(), "gpt-2 adds no BOS unless the metadata says so");
        assertArrayEquals(t.encode("x", false, false), t.encode("x"));
    }

    @Test
    void chatTemplateRoundTripsThroughTheTokenizer() {
        Tokenizer t = Tokenizer.fromGguf(withTokens(metadataOf("vocab/ggml-vocab-gpt-2.gguf"), CHATML, CHATML_TYPES));
        String rendered = ChatTemplate.CHATML.render(
                List.of(ChatMessage.system("Be brief."), ChatMessage.user("Why is the sky blue?")), true);
        int[] ids = t.encode(rendered, true, true);
        assertEquals(3, IntStream.of(ids).filter(id -> id == 50257).count(), "<|im_start|> x3");
        assertEquals(2, IntStream.of(ids).filter(id -> id == 50258).count(), "<|im_end|> x2");
        assertEquals(rendered, t.decode(ids, true));
    }

    @Test
    void spmAddsSpacePrefixAfterSpecialTokens() {
        Tokenizer t = Tokenizer.fromGguf(withTokens(metadataOf("stories260K.gguf"), CHATML, CHATML_TYPES));
        int imStart = 512;
        int[] ids = t.encode("<|im_start|>Once upon a time", true, true);
        // as llama.cpp: text after a special token gets the SentencePiece space prefix again
        assertArrayEquals(new int[] {1, imStart, 403, 407, 261, 378}, ids);
        assertEquals("<s><|im_start|> Once upon a time", t.decode(ids, true));
        int[] literal = t.encode("<|im_start|>Once", false, false);
        assertFalse(IntStream.of(literal).anyMatch(id -> id == imStart));
        assertEquals("<|im_start|>Once", t.decode(literal));
    }

    @Test
    void unsupportedModelsAreRejectedWithTheSupportedList() {
        Map<String, GgufValue> md = metadataOf("vocab/ggml-vocab-gpt-2.gguf");
        md.put("tokenizer.ggml.model", GgufValue.ofString("bert"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tokenizer.fromGguf(new GgufMetadata(md)));
        assertTrue(e.getMessage().contains("'bert'") && e.getMessage().contains("[llama, gpt2]"), e.getMessage());

        md.put("tokenizer.ggml.model", GgufValue.ofString("gpt2"));
        md.put("tokenizer.ggml.pre", GgufValue.ofString("falcon"));
        e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromGguf(new GgufMetadata(md)));
        assertTrue(e.getMessage().contains("'falcon'") && e.getMessage().contains("qwen2"), e.getMessage());

        md.remove("tokenizer.ggml.model");
        e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromGguf(new GgufMetadata(md)));
        assertTrue(e.getMessage().contains("tokenizer.ggml.model"), e.getMessage());
    }

    @Test
    void idsOutsideTheVocabularyAreRejected() {
        Tokenizer t = Stories260KTokenizerTest.load("stories260K.gguf");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {512}));
        assertTrue(e.getMessage().contains("[0, 512)"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> t.piece(-1));
    }
}
