package io.kvcache.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufArray;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufMetadata;
import io.kvcache.gguf.GgufValue;
import io.kvcache.gguf.GgufValueType;
import io.kvcache.model.SyntheticModel;
import io.kvcache.testing.SharedModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The seed corpus of {@link FuzzModelLoadingTest}: small valid models that reach every stage of
 * the target (SentencePiece and byte-level BPE tokenizers, llama and qwen2, F32 / F16 / Q8_0,
 * tied and separate output), plus the crash inputs of {@link FuzzRegressionTest}. The committed
 * files must equal what {@link #corpus()} builds, so they cannot rot; regenerate them with
 * {@code -Dkvcache.fuzz.regenerateSeeds=true}. Jazzer writes new crash files ({@code crash-<sha1>})
 * into the same directory; they stay there, listed with their expected outcome in
 * {@link FuzzRegressionTest#JAZZER_CRASH_FILES}, and this test fails for any file that is not.
 */
class FuzzSeedCorpusTest {

    static final Path INPUTS = Path.of("src/test/resources/io/kvcache/fuzz/FuzzModelLoadingTestInputs/gguf");

    /** Seed file name to bytes. */
    static Map<String, byte[]> seeds() {
        Map<String, byte[]> seeds = new LinkedHashMap<>();
        seeds.put("seed-llama-f32-spm", tiny().build());
        seeds.put("seed-qwen2-q8_0-bpe", qwenSeed());
        try (GgufFile stories = GgufFile.open(SharedModels.model("stories260K.gguf"))) {
            seeds.put("seed-llama-f16-stories260K-vocab", tiny().weightType(GgmlType.F16)
                    .tokenizerFrom(stories.metadata()).build());
        }
        return seeds;
    }

    /** The qwen2 seed; needs no shared files. */
    static byte[] qwenSeed() {
        return tiny().architecture("qwen2").weightType(GgmlType.Q8_0).tiedOutput(true)
                .tokenizerFrom(smallBpeTokenizer()).build();
    }

    private static SyntheticModel.Builder tiny() {
        return SyntheticModel.builder().layers(1).embeddingLength(32).heads(2).kvHeads(1).feedForwardLength(64)
                .vocabularySize(400).contextLength(64);
    }

    /** A GPT-2 style vocabulary: the 256 byte-level characters, a few merges and one control token. */
    static GgufMetadata smallBpeTokenizer() {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(byteLevelChar(b));
        }
        String[] merges = {"Ġ t", "h e", "Ġt he", "Ġ a", "o n", "i n", "Ġ on", "c e"};
        for (String m : merges) {
            tokens.add(m.replace(" ", ""));
        }
        tokens.add("<|endoftext|>");
        int[] types = new int[tokens.size()];
        java.util.Arrays.fill(types, 1);
        types[types.length - 1] = 3;
        Map<String, GgufValue> md = new LinkedHashMap<>();
        md.put("tokenizer.ggml.model", GgufValue.ofString("gpt2"));
        md.put("tokenizer.ggml.pre", GgufValue.ofString("qwen2"));
        md.put("tokenizer.ggml.tokens", GgufValue.ofArray(GgufArray.ofStrings(tokens.toArray(String[]::new))));
        md.put("tokenizer.ggml.token_type", GgufValue.ofArray(GgufArray.ofInts(GgufValueType.INT32, types)));
        md.put("tokenizer.ggml.merges", GgufValue.ofArray(GgufArray.ofStrings(merges)));
        md.put("tokenizer.ggml.eos_token_id", GgufValue.ofUint32(tokens.size() - 1));
        md.put("tokenizer.ggml.add_bos_token", GgufValue.ofBool(false));
        return new GgufMetadata(md);
    }

    /** GPT-2's byte-to-unicode table: printable Latin-1 bytes map to themselves, the rest from U+0100 on. */
    private static String byteLevelChar(int b) {
        if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
            return String.valueOf((char) b);
        }
        int n = 0;
        for (int i = 0; i < b; i++) {
            if (!((i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF))) {
                n++;
            }
        }
        return String.valueOf((char) (256 + n));
    }

    /** Seeds and kept crash inputs: everything the committed input directory must hold. */
    static Map<String, byte[]> corpus() {
        Map<String, byte[]> all = new LinkedHashMap<>(seeds());
        all.putAll(FuzzRegressionTest.crashInputs());
        return all;
    }

    @Test
    void committedSeedsAreTheGeneratedOnesAndLoadFully() throws IOException {
        Map<String, byte[]> seeds = corpus();
        if (Boolean.getBoolean("kvcache.fuzz.regenerateSeeds")) {
            Files.createDirectories(INPUTS);
            for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
                Files.write(INPUTS.resolve(e.getKey()), e.getValue());
            }
        }
        for (Map.Entry<String, byte[]> e : seeds.entrySet()) {
            Path committed = INPUTS.resolve(e.getKey());
            assertArrayEquals(e.getValue(), Files.readAllBytes(committed),
                    committed + " differs from its generator; run with -Dkvcache.fuzz.regenerateSeeds=true");
            if (e.getKey().startsWith("seed-")) {
                assertEquals(ModelLoadingTarget.Outcome.LOADED, ModelLoadingTarget.run(e.getValue()), e.getKey());
            }
        }
        try (Stream<Path> files = Files.list(INPUTS)) {
            List<String> stale = files.map(p -> p.getFileName().toString())
                    .filter(n -> !seeds.containsKey(n) && !FuzzRegressionTest.JAZZER_CRASH_FILES.containsKey(n)).toList();
            assertTrue(stale.isEmpty(), "corpus files neither generated nor listed in"
                    + " FuzzRegressionTest.JAZZER_CRASH_FILES (a new Jazzer finding? fix it, then list it): " + stale);
        }
    }
}
