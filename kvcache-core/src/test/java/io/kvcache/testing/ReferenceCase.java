package io.kvcache.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * One llama.cpp reference case from {@code shared/reference}: prompt, prompt tokens, greedy
 * tokens and the logits rows (prompt positions, then one row per greedy step).
 */
public record ReferenceCase(String name, String model, String prompt, String kvType, int vocab, int[] promptTokens,
        int[] greedyTokens, String greedyText, float[] logits) {

    /** Loads {@code <name>.json} and {@code <name>.logits.f32}; skips the test when absent. */
    public static ReferenceCase load(String name) {
        Path json = SharedModels.reference(name + ".json");
        Path bin = SharedModels.reference(name + ".logits.f32");
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) Json.parse(Files.readString(json));
            byte[] raw = Files.readAllBytes(bin);
            float[] logits = new float[raw.length / 4];
            ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(logits);
            return new ReferenceCase(name, (String) m.get("model"), (String) m.get("prompt"),
                    (String) m.getOrDefault("kv_type", "f32"), ((Long) m.get("n_vocab")).intValue(),
                    Json.ints(m.get("prompt_tokens")), Json.ints(m.get("greedy_tokens")), (String) m.get("greedy_text"),
                    logits);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Number of logits rows: prompt positions plus greedy steps. */
    public int rows() {
        return logits.length / vocab;
    }

    /** A copy of one row. */
    public float[] row(int r) {
        float[] out = new float[vocab];
        System.arraycopy(logits, r * vocab, out, 0, vocab);
        return out;
    }

    /** The model file this case was computed with. */
    public Path modelPath() {
        return SharedModels.model(model);
    }
}
