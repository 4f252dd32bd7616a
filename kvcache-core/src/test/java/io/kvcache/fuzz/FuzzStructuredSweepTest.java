package io.kvcache.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufArray;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufTensorInfo;
import io.kvcache.gguf.GgufValue;
import io.kvcache.gguf.GgufValueType;
import io.kvcache.gguf.GgufWriter;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Structure-aware companion of {@link FuzzModelLoadingTest}. Byte mutations rarely produce a
 * well-formed file whose metadata has the wrong <em>type</em> or an absurd <em>value</em>; this
 * sweep does so systematically: every metadata key of every seed is replaced by each of a set of
 * hostile values, and every tensor gets other GGML types, swapped or inflated shapes, garbage
 * (NaN/Inf) data, or is dropped. Each variant must satisfy {@link ModelLoadingTarget}'s contract.
 */
class FuzzStructuredSweepTest {

    /** Values of every GGUF type, chosen to hit bounds: empty, negative, huge, NaN, nested. */
    static List<GgufValue> hostileValues() {
        return List.of(
                GgufValue.ofString(""),
                GgufValue.ofString("qwen2"),
                GgufValue.ofString("<0xZZ>"),
                GgufValue.ofUint32(0),
                GgufValue.ofUint32(0xFFFF_FFFFL),
                GgufValue.ofInt32(-1),
                GgufValue.ofInt32(Integer.MIN_VALUE),
                GgufValue.ofInt32(1 << 30),
                new GgufValue(GgufValueType.UINT64, Long.MAX_VALUE),
                new GgufValue(GgufValueType.INT64, -1L),
                GgufValue.ofFloat32(Float.NaN),
                GgufValue.ofFloat32(Float.POSITIVE_INFINITY),
                GgufValue.ofFloat32(-1f),
                GgufValue.ofFloat32(0f),
                new GgufValue(GgufValueType.FLOAT64, 1e300),
                GgufValue.ofBool(true),
                GgufValue.ofArray(GgufArray.ofStrings()),
                GgufValue.ofArray(GgufArray.ofStrings("a", "a")),
                GgufValue.ofArray(GgufArray.ofStrings("<0xZZ>", "<0x>", "\u2581", "")),
                GgufValue.ofArray(GgufArray.ofInts(GgufValueType.INT32, new int[] {-1, Integer.MAX_VALUE, 6, 3})),
                GgufValue.ofArray(GgufArray.ofLongs(GgufValueType.UINT64, new long[] {Long.MAX_VALUE})),
                GgufValue.ofArray(GgufArray.ofFloats(new float[] {Float.NaN, 1f})),
                GgufValue.ofArray(GgufArray.ofBooleans(new boolean[] {true})),
                GgufValue.ofArray(GgufArray.ofArrays(GgufArray.ofStrings("x"))));
    }

    @Test
    void everyMetadataKeyWithEveryHostileValue() {
        Map<String, int[]> outcomes = new java.util.TreeMap<>();
        int variants = 0;
        for (Map.Entry<String, byte[]> seed : FuzzSeedCorpusTest.seeds().entrySet()) {
            try (GgufFile file = GgufFile.read(seed.getValue())) {
                for (String key : file.metadata().keys()) {
                    for (GgufValue hostile : hostileValues()) {
                        byte[] variant = rewrite(file, key, hostile, t -> TensorSpec.copy(file, t));
                        ModelLoadingTarget.Outcome outcome = runNamed(variant, seed.getKey() + ": " + key + " = " + hostile);
                        if (outcome != null) {
                            outcomes.computeIfAbsent(outcome.name(), k -> new int[1])[0]++;
                        }
                        variants++;
                    }
                    ModelLoadingTarget.Outcome outcome = runNamed(rewrite(file, key, null, t -> TensorSpec.copy(file, t)),
                            seed.getKey() + ": without " + key);
                    if (outcome != null) {
                        outcomes.computeIfAbsent(outcome.name(), k -> new int[1])[0]++;
                    }
                    variants++;
                }
            }
        }
        assertTrue(variants > 1000, "swept " + variants + " variants");
        // The sweep is only meaningful if it reaches all stages: some variants must still load.
        assertTrue(outcomes.containsKey("LOADED") && outcomes.containsKey("UNSUPPORTED_MODEL")
                && outcomes.containsKey("LOADED_WITHOUT_TOKENIZER"), "outcomes " + describe(outcomes));
    }

    /** Keys the loader or tokenizer reads that the seeds do not carry ({@code <arch>} is replaced). */
    static final List<String> OPTIONAL_KEYS = List.of("tokenizer.chat_template", "tokenizer.ggml.pre",
            "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix", "tokenizer.ggml.eot_token_id",
            "tokenizer.ggml.eom_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.merges",
            "<arch>.rope.scaling.type", "<arch>.rope.scaling.factor", "<arch>.attention.head_count_kv",
            "<arch>.attention.key_length", "<arch>.vocab_size");

    @Test
    void optionalKeysAddedWithEveryHostileValue() {
        int variants = 0;
        for (Map.Entry<String, byte[]> seed : FuzzSeedCorpusTest.seeds().entrySet()) {
            try (GgufFile file = GgufFile.read(seed.getValue())) {
                String arch = file.metadata().getString("general.architecture");
                for (String template : OPTIONAL_KEYS) {
                    String key = template.replace("<arch>", arch);
                    if (file.metadata().contains(key)) {
                        continue; // swept by everyMetadataKeyWithEveryHostileValue
                    }
                    for (GgufValue hostile : hostileValues()) {
                        runNamed(rewrite(file, key, hostile, t -> TensorSpec.copy(file, t)),
                                seed.getKey() + ": + " + key + " = " + hostile);
                        variants++;
                    }
                }
                String linear = arch + ".rope.scaling.type";
                for (GgufValue factor : hostileValues()) {
                    byte[] scaled = rewrite(file, linear, GgufValue.ofString("linear"), t -> TensorSpec.copy(file, t));
                    try (GgufFile scaledFile = GgufFile.read(scaled)) {
                        runNamed(rewrite(scaledFile, arch + ".rope.scaling.factor", factor,
                                t -> TensorSpec.copy(scaledFile, t)), seed.getKey() + ": linear RoPE scaling x " + factor);
                    }
                    variants++;
                }
            }
        }
        assertTrue(variants > 500, "swept " + variants + " variants");
    }

    @Test
    void everyTensorWithOtherTypesShapesGarbageOrMissing() {
        SplittableRandom random = new SplittableRandom(8);
        int variants = 0;
        for (Map.Entry<String, byte[]> seed : FuzzSeedCorpusTest.seeds().entrySet()) {
            try (GgufFile file = GgufFile.read(seed.getValue())) {
                for (GgufTensorInfo target : file.tensors()) {
                    String where = seed.getKey() + ": tensor " + target.name();
                    List<Function<GgufTensorInfo, @Nullable TensorSpec>> edits = new ArrayList<>();
                    for (GgmlType type : new GgmlType[] {GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
                            GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.I8, GgmlType.IQ1_S}) {
                        edits.add(t -> TensorSpec.filled(t.name(), type, t.shape(), random));
                    }
                    edits.add(t -> TensorSpec.filled(t.name(), t.type(), reversed(t.shape()), random));
                    edits.add(t -> TensorSpec.filled(t.name(), t.type(), appendOne(t.shape(), 2), random));
                    edits.add(t -> TensorSpec.filled(t.name(), t.type(), appendOne(t.shape(), 1), random));
                    edits.add(t -> TensorSpec.filled(t.name(), GgmlType.F32, new long[] {t.shape()[0]}, random));
                    edits.add(t -> TensorSpec.nonFinite(t));
                    edits.add(t -> null);
                    for (Function<GgufTensorInfo, @Nullable TensorSpec> edit : edits) {
                        Function<GgufTensorInfo, @Nullable TensorSpec> only = t -> t.name().equals(target.name()) ? edit.apply(t)
                                : TensorSpec.copy(file, t);
                        runNamed(rewrite(file, null, null, only), where);
                        variants++;
                    }
                }
            }
        }
        assertTrue(variants > 300, "swept " + variants + " variants");
    }

    private static String describe(Map<String, int[]> outcomes) {
        StringBuilder sb = new StringBuilder();
        outcomes.forEach((k, v) -> sb.append(k).append('=').append(v[0]).append(' '));
        return sb.toString();
    }

    /** Contract violations of the current test, all reported at its end. */
    private final List<String> violations = new ArrayList<>();

    private ModelLoadingTarget.@Nullable Outcome runNamed(byte[] variant, String what) {
        try {
            return ModelLoadingTarget.run(variant);
        } catch (AssertionError | RuntimeException e) {
            StackTraceElement[] trace = (e.getCause() != null ? e.getCause() : e).getStackTrace();
            violations.add(what + ": " + e + (trace.length > 0 ? " at " + trace[0] : ""));
            return null;
        }
    }

    @org.junit.jupiter.api.AfterEach
    void reportViolations() {
        assertTrue(violations.isEmpty(), violations.size() + " contract violations:\n" + String.join("\n", violations));
    }

    /** A tensor to write: name, type, shape, data. */
    record TensorSpec(String name, GgmlType type, long[] shape, byte[] data) {
        static TensorSpec copy(GgufFile file, GgufTensorInfo t) {
            return new TensorSpec(t.name(), t.type(), t.shape(), file.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
        }

        static TensorSpec filled(String name, GgmlType type, long[] shape, SplittableRandom random) {
            long elements = 1;
            for (long d : shape) {
                elements *= d;
            }
            if (shape[0] % type.blockSize() != 0) {
                shape = shape.clone();
                shape[0] = type.blockSize();
                elements = 1;
                for (long d : shape) {
                    elements *= d;
                }
            }
            byte[] data = new byte[(int) type.byteSize(elements)];
            random.nextBytes(data);
            return new TensorSpec(name, type, shape, data);
        }

        /** Same type and shape, every byte 0xFF: NaN in F32/F16/BF16, extreme scales in quantized types. */
        static TensorSpec nonFinite(GgufTensorInfo t) {
            byte[] data = new byte[(int) t.byteSize()];
            java.util.Arrays.fill(data, (byte) 0xFF);
            return new TensorSpec(t.name(), t.type(), t.shape(), data);
        }
    }

    private static long[] reversed(long[] shape) {
        long[] r = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            r[i] = shape[shape.length - 1 - i];
        }
        return r;
    }

    private static long[] appendOne(long[] shape, long dim) {
        long[] r = java.util.Arrays.copyOf(shape, Math.min(4, shape.length + 1));
        r[r.length - 1] = dim;
        return r;
    }

    /**
     * The file again with {@code key} replaced by {@code value} (added when absent, dropped when
     * {@code value} is null; no change when {@code key} is null), and each tensor written as
     * {@code tensors} says (dropped when null).
     */
    static byte[] rewrite(GgufFile file, @Nullable String key, @Nullable GgufValue value, Function<GgufTensorInfo, @Nullable TensorSpec> tensors) {
        GgufWriter w = new GgufWriter();
        if (key != null && value != null && !file.metadata().contains(key)) {
            w.put(key, value);
        }
        for (Map.Entry<String, GgufValue> e : file.metadata().asMap().entrySet()) {
            if (e.getKey().equals(GgufFile.ALIGNMENT_KEY)) {
                continue;
            }
            if (e.getKey().equals(key)) {
                if (value != null) {
                    w.put(key, value);
                }
            } else {
                w.put(e.getKey(), e.getValue());
            }
        }
        for (GgufTensorInfo t : file.tensors()) {
            TensorSpec spec = tensors.apply(t);
            if (spec != null) {
                w.addTensor(spec.name(), spec.type(), spec.shape(), spec.data());
            }
        }
        return w.toByteArray();
    }
}
