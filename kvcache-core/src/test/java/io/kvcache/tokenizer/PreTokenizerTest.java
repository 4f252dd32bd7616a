package io.kvcache.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Word splits of the pre-tokenizers without a vocabulary file here (llama-bpe, qwen2, smollm);
 * the Llama 3 expectations agree with the ids in llama.cpp's test-tokenizer-0 comments.
 */
class PreTokenizerTest {

    private static final String MIXED = "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～";

    @Test
    void llama3() {
        PreTokenizer p = PreTokenizer.forName("llama-bpe");
        assertEquals(List.of("Hello", ",", " y", "'all", "!", " How", " are", " you", " 😁", " ?",
                "我想在apple工作", "131", "415", "1", "天", "～"), p.split(MIXED));
        assertEquals(List.of("333", "3"), p.split("3333"));
        assertEquals(List.of("   ", " Hello", "\n", "   ", " Hello"), p.split("    Hello\n    Hello"));
        assertEquals(List.of("I", "'VE", " been"), p.split("I'VE been"), "contractions are case-insensitive");
        assertTrue(p.ignoreMerges);
        assertTrue(p.cleanSpaces);
    }

    @Test
    void qwen2SplitsDigitsOneByOne() {
        PreTokenizer p = PreTokenizer.forName("qwen2");
        assertEquals(List.of("apple", "1", "3", "1", "4"), p.split("apple1314"));
        assertEquals(List.of("Hello", ",", " y", "'all", "!"), p.split("Hello, y'all!"));
        assertFalse(p.cleanSpaces);
        assertFalse(p.ignoreMerges);
    }

    @Test
    void smollmSplitsDigitsThenAppliesGpt2() {
        PreTokenizer p = PreTokenizer.forName("smollm");
        assertEquals(List.of("3", "3", "3", "3"), p.split("3333"));
        assertEquals(List.of("x", " ", "3", "3", " y"), p.split("x 33 y"));
        assertEquals(List.of("Hello", ",", " y", "'", "all", "!"), p.split("Hello, y'all!"));
        assertFalse(p.cleanSpaces);
    }

    @Test
    void gpt2() {
        PreTokenizer p = PreTokenizer.forName("gpt-2");
        assertEquals(List.of("Hello", ",", " y", "'", "all", "!", " I", "'ve"), p.split("Hello, y'all! I've"));
        assertEquals(List.of(" ", " 3333", "\u00A0", "x"), p.split("  3333\u00A0x"), "U+00A0 is whitespace");
        assertEquals(List.of("a", " \t\n"), p.split("a \t\n"), "trailing whitespace stays together");
        assertEquals(p.split("x").size(), PreTokenizer.forName("default").split("x").size());
    }
}
