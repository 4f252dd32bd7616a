package io.kvcache.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvSequence;
import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufValue;
import io.kvcache.gguf.GgufWriter;
import io.kvcache.model.ModelConfig;
import io.kvcache.model.RopeType;
import io.kvcache.model.SyntheticModel;
import io.kvcache.model.UnsupportedModelException;
import io.kvcache.testing.SharedModels;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelLoadingTest {

    @Test
    void readsConfigurationFromMetadata() {
        try (InferenceEngine e = InferenceEngine.load(SharedModels.model("stories260K.gguf"))) {
            ModelConfig c = e.config();
            assertEquals(64, c.embeddingLength());
            assertEquals(5, c.layers());
            assertEquals(8, c.heads());
            assertEquals(4, c.kvHeads());
            assertEquals(8, c.headDim());
            assertEquals(172, c.feedForwardLength());
            assertEquals(512, c.vocabularySize());
            assertEquals(10000f, c.ropeBase(), "absent key: default base");
            assertEquals(RopeType.NORMAL, c.ropeType());
            assertEquals(2 * 5 * 4 * 8 * 4, e.kvCacheSpec().bytesPerToken());
        }
        try (InferenceEngine e = InferenceEngine.load(SharedModels.model("TinyStories-656K-Q8_0.gguf"))) {
            assertEquals(1e-6f, e.config().rmsEpsilon());
            assertEquals(512, e.config().contextLength());
        }
    }

    @Test
    void qwen2UsesNeoxRope() {
        byte[] gguf = SyntheticModel.builder().architecture("qwen2").build();
        try (InferenceEngine e = InferenceEngine.of(GgufFile.read(gguf), new EngineOptions(1))) {
            assertEquals(RopeType.NEOX, e.config().ropeType());
            assertTrue(e.file().hasTensor("blk.0.attn_q.bias"));
        }
    }

    @Test
    void unsupportedArchitectureIsRefusedWithTheSupportedList() {
        byte[] gguf = rewrite(SyntheticModel.builder().build(), Map.of("general.architecture", GgufValue.ofString("mamba")));
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class,
                () -> InferenceEngine.of(GgufFile.read(gguf), new EngineOptions(1)));
        assertTrue(e.getMessage().contains("mamba") && e.getMessage().contains("[llama, qwen2]"), e.getMessage());
    }

    @Test
    void unsupportedTensorTypeIsRefusedAtLoad() {
        GgufWriter w = new GgufWriter();
        GgufFile base = GgufFile.read(SyntheticModel.builder().build());
        base.metadata().asMap().forEach(w::put);
        for (var t : base.tensors()) {
            if (t.name().equals("blk.0.attn_q.weight")) {
                long elements = t.elementCount();
                w.addTensor(t.name(), GgmlType.IQ2_XXS, new long[] {256, elements / 256},
                        new byte[(int) GgmlType.IQ2_XXS.byteSize(elements)]);
            } else {
                w.addTensor(t.name(), t.type(), t.shape(), bytes(base, t));
            }
        }
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class,
                () -> InferenceEngine.of(GgufFile.read(w.toByteArray()), new EngineOptions(1)));
        assertTrue(e.getMessage().contains("blk.0.attn_q.weight"), e.getMessage());
    }

    @Test
    void missingTensorIsNamed() {
        GgufWriter w = new GgufWriter();
        GgufFile base = GgufFile.read(SyntheticModel.builder().build());
        base.metadata().asMap().forEach(w::put);
        for (var t : base.tensors()) {
            if (!t.name().equals("blk.1.ffn_down.weight")) {
                w.addTensor(t.name(), t.type(), t.shape(), bytes(base, t));
            }
        }
        UnsupportedModelException e = assertThrows(UnsupportedModelException.class,
                () -> InferenceEngine.of(GgufFile.read(w.toByteArray()), new EngineOptions(1)));
        assertTrue(e.getMessage().contains("blk.1.ffn_down.weight"), e.getMessage());
    }

    @Test
    void ropeFrequencyFactorsChangeTheRotation() {
        byte[] plain = SyntheticModel.builder().build();
        float[] ones = new float[16];
        Arrays.fill(ones, 1f);
        float[] fours = new float[16];
        Arrays.fill(fours, 4f);
        float[] base = lastLogits(plain);
        // Equal up to summation order (JIT-compiled and interpreted vector reductions differ in the last bit).
        assertTrue(maxDiff(base, lastLogits(withRopeFreqs(plain, ones))) < 1e-5, "factors of 1 leave RoPE unchanged");
        assertTrue(maxDiff(base, lastLogits(withRopeFreqs(plain, fours))) > 1e-2, "factors of 4 change the logits");
    }

    private static double maxDiff(float[] a, float[] b) {
        double d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    private static float[] lastLogits(byte[] gguf) {
        try (InferenceEngine e = InferenceEngine.of(GgufFile.read(gguf), new EngineOptions(1));
             KvCache cache = e.createKvCache(64, io.kvcache.cache.KvElementType.F32);
             KvSequence s = cache.newSequence()) {
            return e.forward(s, new int[] {1, 300, 301, 302, 303, 304});
        }
    }

    private static byte[] withRopeFreqs(byte[] gguf, float[] factors) {
        GgufWriter w = copy(GgufFile.read(gguf), Map.of());
        w.addTensor("rope_freqs.weight", GgmlType.F32, new long[] {factors.length},
                io.kvcache.tensor.Quantizer.quantize(GgmlType.F32, factors));
        return w.toByteArray();
    }

    private static byte[] rewrite(byte[] gguf, Map<String, GgufValue> overrides) {
        return copy(GgufFile.read(gguf), overrides).toByteArray();
    }

    private static GgufWriter copy(GgufFile f, Map<String, GgufValue> overrides) {
        GgufWriter w = new GgufWriter();
        f.metadata().asMap().forEach((k, v) -> w.put(k, overrides.getOrDefault(k, v)));
        for (var t : f.tensors()) {
            w.addTensor(t.name(), t.type(), t.shape(), bytes(f, t));
        }
        return w;
    }

    private static byte[] bytes(GgufFile f, io.kvcache.gguf.GgufTensorInfo t) {
        return f.tensorData(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }
}
