package io.kvcache.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.fuzz.FuzzStructuredSweepTest.TensorSpec;
import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufArray;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufValue;
import io.kvcache.gguf.GgufValueType;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.model.SyntheticModel;
import io.kvcache.model.UnsupportedModelException;
import io.kvcache.tokenizer.Tokenizer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every input the fuzzers found that broke the loader's contract, rebuilt programmatically, with
 * the exact outcome now expected. {@link #crashInputs()} are also kept as files in Jazzer's input
 * directory (see {@link FuzzSeedCorpusTest}) so the fuzzer replays and mutates them.
 */
class FuzzRegressionTest {

    /**
     * Crash files Jazzer wrote into its input directory, kept byte for byte, with the outcome each
     * must now have.
     */
    static final Map<String, ModelLoadingTarget.Outcome> JAZZER_CRASH_FILES = Map.of(
            // 408k runs into a 240 s session: qwen2.block_count = 0x46000001 made
            // LlamaWeights.load reserve an ArrayList of 1.17 billion layers (OutOfMemoryError).
            "crash-36a729681360e37b7794b299066b7482b374b2a6", ModelLoadingTarget.Outcome.UNSUPPORTED_MODEL);

    @Test
    void jazzerCrashFilesNowHaveTheirExpectedOutcome() throws java.io.IOException {
        for (Map.Entry<String, ModelLoadingTarget.Outcome> e : JAZZER_CRASH_FILES.entrySet()) {
            byte[] input = java.nio.file.Files.readAllBytes(FuzzSeedCorpusTest.INPUTS.resolve(e.getKey()));
            assertEquals(e.getValue(), ModelLoadingTarget.run(input), e.getKey());
        }
        byte[] oom = java.nio.file.Files.readAllBytes(
                FuzzSeedCorpusTest.INPUTS.resolve("crash-36a729681360e37b7794b299066b7482b374b2a6"));
        var e = assertThrows(UnsupportedModelException.class,
                () -> InferenceEngine.of(GgufFile.read(oom), new EngineOptions(1)));
        assertTrue(e.getMessage().contains("qwen2.block_count is 1174405121"), e.getMessage());
    }

    /** Crash input name to bytes. */
    static Map<String, byte[]> crashInputs() {
        Map<String, byte[]> crashes = new LinkedHashMap<>();
        crashes.put("crash-block-count-2e30", blockCount(1 << 30));
        crashes.put("crash-query-width-overflow", queryWidthOverflow());
        crashes.put("crash-tokens-int-array", withKey(smallQwen(), "tokenizer.ggml.tokens",
                GgufValue.ofArray(GgufArray.ofInts(GgufValueType.INT32, new int[] {-1, Integer.MAX_VALUE}))));
        crashes.put("crash-merges-bool-array", withKey(smallQwen(), "tokenizer.ggml.merges",
                GgufValue.ofArray(GgufArray.ofBooleans(new boolean[] {true}))));
        crashes.put("crash-token-type-uint64", withKey(smallQwen(), "tokenizer.ggml.token_type",
                GgufValue.ofArray(GgufArray.ofLongs(GgufValueType.UINT64, new long[] {Long.MAX_VALUE}))));
        return crashes;
    }

    private static byte[] smallQwen() {
        return FuzzSeedCorpusTest.qwenSeed();
    }

    private static byte[] withKey(byte[] model, String key, GgufValue value) {
        try (GgufFile file = GgufFile.read(model)) {
            return FuzzStructuredSweepTest.rewrite(file, key, value, t -> TensorSpec.copy(file, t));
        }
    }

    /** Found by the structured sweep: block_count 2^30 made the loader reserve a 4 GiB list of layers. */
    private static byte[] blockCount(long layers) {
        return withKey(smallQwen(), "qwen2.block_count", GgufValue.ofUint32(layers));
    }

    /**
     * heads x head dimension wraps around int to exactly the width of the real Q/K/V tensors
     * (4 x 1073741832 = 2^32 + 32), so the shapes check out and the forward pass indexed far
     * outside its buffers.
     */
    private static byte[] queryWidthOverflow() {
        byte[] model = SyntheticModel.builder().layers(1).embeddingLength(32).heads(4).kvHeads(4).feedForwardLength(64)
                .vocabularySize(400).contextLength(64).weightType(GgmlType.Q8_0).build();
        long headDim = (1L << 30) + 8;
        model = withKey(model, "llama.attention.key_length", GgufValue.ofUint32(headDim));
        model = withKey(model, "llama.attention.value_length", GgufValue.ofUint32(headDim));
        return withKey(model, "llama.rope.dimension_count", GgufValue.ofUint32(2));
    }

    @Test
    void absurdBlockCountIsRejectedBeforeAnythingIsSizedByIt() {
        byte[] input = crashInputs().get("crash-block-count-2e30");
        assertEquals(ModelLoadingTarget.Outcome.UNSUPPORTED_MODEL, ModelLoadingTarget.run(input));
        var e = assertThrows(UnsupportedModelException.class,
                () -> InferenceEngine.of(GgufFile.read(input), new EngineOptions(1)));
        assertTrue(e.getMessage().contains("block_count is 1073741824 but the file has only"), e.getMessage());
        assertTrue(e.getMessage().contains("re-convert"), e.getMessage());
    }

    @Test
    void queryWidthOverflowIsRejected() {
        byte[] input = crashInputs().get("crash-query-width-overflow");
        assertEquals(ModelLoadingTarget.Outcome.UNSUPPORTED_MODEL, ModelLoadingTarget.run(input));
        var e = assertThrows(UnsupportedModelException.class,
                () -> InferenceEngine.of(GgufFile.read(input), new EngineOptions(1)));
        assertTrue(e.getMessage().contains("heads (4) x head dimension (1073741832) overflows"), e.getMessage());
    }

    @Test
    void tokenizerArraysOfTheWrongTypeAreTheDocumentedIllegalArgumentException() {
        Map<String, String> keyOf = Map.of("crash-tokens-int-array", "tokenizer.ggml.tokens",
                "crash-merges-bool-array", "tokenizer.ggml.merges", "crash-token-type-uint64", "tokenizer.ggml.token_type");
        keyOf.forEach((name, key) -> {
            byte[] input = crashInputs().get(name);
            assertEquals(ModelLoadingTarget.Outcome.LOADED_WITHOUT_TOKENIZER, ModelLoadingTarget.run(input), name);
            try (GgufFile file = GgufFile.read(input)) {
                var e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromGguf(file.metadata()), name);
                assertTrue(e.getMessage().contains(key) && e.getMessage().contains("malformed"), e.getMessage());
            }
            try (InferenceEngine engine = InferenceEngine.of(GgufFile.read(input), new EngineOptions(1))) {
                var e = assertThrows(UnsupportedModelException.class, engine::tokenizer, name);
                assertInstanceOf(IllegalArgumentException.class, e.getCause(), name);
                assertTrue(e.getMessage().contains(key), e.getMessage());
            }
        });
    }

    @Test
    void byteTokenWithoutHexDigitsIsNamed() {
        byte[] model = SyntheticModel.builder().layers(1).embeddingLength(32).heads(2).kvHeads(1).feedForwardLength(64)
                .vocabularySize(400).build();
        try (GgufFile file = GgufFile.read(model)) {
            String[] tokens = file.metadata().getArray("tokenizer.ggml.tokens").asStrings();
            int[] types = file.metadata().getArray("tokenizer.ggml.token_type").asInts();
            int byteToken = java.util.Arrays.asList(tokens).indexOf("<0x41>");
            assertTrue(byteToken >= 0 && types[byteToken] == 6, "the synthetic vocabulary has byte tokens");
            tokens[byteToken] = "<0xZZ>";
            byte[] broken = FuzzStructuredSweepTest.rewrite(file, "tokenizer.ggml.tokens",
                    GgufValue.ofArray(GgufArray.ofStrings(tokens)), t -> TensorSpec.copy(file, t));
            try (GgufFile brokenFile = GgufFile.read(broken)) {
                var e = assertThrows(IllegalArgumentException.class, () -> Tokenizer.fromGguf(brokenFile.metadata()));
                assertEquals("byte token '<0xZZ>' is not <0xNN> with two hex digits; the GGUF vocabulary is malformed",
                        e.getMessage());
            }
            assertEquals(ModelLoadingTarget.Outcome.LOADED_WITHOUT_TOKENIZER, ModelLoadingTarget.run(broken));
        }
    }
}
