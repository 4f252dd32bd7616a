package io.kvcache.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgufFile;
import io.kvcache.testing.SharedModels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TokenDecoderTest {

    @Test
    void emojiSplitAcrossByteTokensIsEmittedWhole() {
        Tokenizer t = Stories260KTokenizerTest.load("stories260K.gguf");
        String text = "Lily saw a \uD83E\uDD99 and a \u4E16!"; // llama emoji (4 bytes), CJK 世 (3 bytes)
        int[] ids = t.encode(text, true, false);
        TokenDecoder decoder = t.newDecoder();
        List<String> chunks = new ArrayList<>();
        int heldWhileIncomplete = 0;
        for (int id : ids) {
            String chunk = decoder.append(id);
            assertFalse(chunk.contains("\uFFFD"), "never half a character: " + chunk);
            if (decoder.hasPendingBytes()) {
                heldWhileIncomplete++;
            }
            chunks.add(chunk);
        }
        assertEquals("", decoder.flush());
        assertEquals(" " + text, String.join("", chunks), "streaming keeps the piece's leading space");
        assertEquals(3 + 2, heldWhileIncomplete, "3 pending steps for the emoji, 2 for the CJK character");
        assertTrue(chunks.contains("\uD83E\uDD99"), "the emoji came out as one chunk: " + chunks);
        assertTrue(chunks.contains("\u4E16"), "the CJK character came out as one chunk: " + chunks);
    }

    @Test
    void byteLevelBpeStreamsMultiByteCharacters() {
        Tokenizer t;
        try (GgufFile gguf = GgufFile.open(SharedModels.model("vocab/ggml-vocab-gpt-2.gguf"))) {
            t = Tokenizer.fromGguf(gguf.metadata());
        }
        String text = "我想在apple工作 🦙 Führer";
        StringBuilder out = new StringBuilder();
        TokenDecoder decoder = t.newDecoder();
        for (int id : t.encode(text, false, false)) {
            String chunk = decoder.append(id);
            assertFalse(chunk.contains("\uFFFD"), chunk);
            out.append(chunk);
        }
        out.append(decoder.flush());
        assertEquals(text, out.toString());
    }

    @Test
    void incompleteAndInvalidBytes() {
        Tokenizer t = Stories260KTokenizerTest.load("stories260K.gguf");
        int byteBase = 3; // <0x00> is token 3
        TokenDecoder decoder = t.newDecoder();
        assertEquals("", decoder.append(byteBase + 0xE4));
        assertEquals("", decoder.append(byteBase + 0xB8));
        assertTrue(decoder.hasPendingBytes());
        assertEquals("\uFFFD", decoder.flush(), "an unfinished character becomes U+FFFD at the end");
        assertFalse(decoder.hasPendingBytes());
        assertEquals("\uFFFD", decoder.append(byteBase + 0x80), "a stray continuation byte is emitted at once");
        assertEquals("", decoder.append(byteBase + 0xC3));
        assertEquals("\uFFFDA", decoder.append(byteBase + 'A'), "a broken sequence does not swallow the next char");
        assertEquals("", decoder.append(1), "BOS is hidden");
        assertEquals("<s>", t.newDecoder(true).append(1));
    }
}
