package io.kvcache.gguf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.testing.SharedModels;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GgufWriterTest {

    /** One value of every type, edge values included, and arrays of every element type, nested too. */
    static Map<String, GgufValue> everyValueType() {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("u8", new GgufValue(GgufValueType.UINT8, 255));
        m.put("i8", new GgufValue(GgufValueType.INT8, -128));
        m.put("u16", new GgufValue(GgufValueType.UINT16, 65535));
        m.put("i16", new GgufValue(GgufValueType.INT16, -32768));
        m.put("u32", GgufValue.ofUint32(0xFFFF_FFFFL));
        m.put("i32", GgufValue.ofInt32(Integer.MIN_VALUE));
        m.put("f32", GgufValue.ofFloat32(-1.5e-7f));
        m.put("bool.t", GgufValue.ofBool(true));
        m.put("bool.f", GgufValue.ofBool(false));
        m.put("str", GgufValue.ofString("héllo ▁wörld 🙂"));
        m.put("str.empty", GgufValue.ofString(""));
        m.put("u64", new GgufValue(GgufValueType.UINT64, -1L));
        m.put("i64", new GgufValue(GgufValueType.INT64, Long.MIN_VALUE));
        m.put("f64", new GgufValue(GgufValueType.FLOAT64, Math.PI));
        m.put("a.u8", GgufValue.ofArray(GgufArray.ofInts(GgufValueType.UINT8, new int[] {0, 1, 255})));
        m.put("a.i8", GgufValue.ofArray(GgufArray.ofInts(GgufValueType.INT8, new int[] {-128, 0, 127})));
        m.put("a.u16", GgufValue.ofArray(GgufArray.ofInts(GgufValueType.UINT16, new int[] {65535, 7})));
        m.put("a.i16", GgufValue.ofArray(GgufArray.ofInts(GgufValueType.INT16, new int[] {-32768, 32767})));
        m.put("a.i32", GgufValue.ofArray(GgufArray.ofInts(GgufValueType.INT32, new int[] {Integer.MIN_VALUE, -1, 5})));
        m.put("a.u32", GgufValue.ofArray(GgufArray.ofLongs(GgufValueType.UINT32, new long[] {0xFFFF_FFFFL, 3})));
        m.put("a.i64", GgufValue.ofArray(GgufArray.ofLongs(GgufValueType.INT64, new long[] {Long.MAX_VALUE, -9})));
        m.put("a.u64", GgufValue.ofArray(GgufArray.ofLongs(GgufValueType.UINT64, new long[] {-1L})));
        m.put("a.f32", GgufValue.ofArray(GgufArray.ofFloats(new float[] {1f, Float.NaN, Float.NEGATIVE_INFINITY, -0f})));
        m.put("a.f64", GgufValue.ofArray(GgufArray.ofDoubles(new double[] {1e300, -0.0})));
        m.put("a.bool", GgufValue.ofArray(GgufArray.ofBooleans(new boolean[] {true, false, true})));
        m.put("a.str", GgufValue.ofArray(GgufArray.ofStrings("a", "", "ü▁")));
        m.put("a.empty", GgufValue.ofArray(GgufArray.ofFloats(new float[0])));
        m.put("a.nested", GgufValue.ofArray(GgufArray.ofArrays(
                GgufArray.ofInts(GgufValueType.INT32, new int[] {1, 2}),
                GgufArray.ofStrings("x"),
                GgufArray.ofArrays(GgufArray.ofBooleans(new boolean[] {true}), GgufArray.ofArrays()))));
        return m;
    }

    @ParameterizedTest
    @CsvSource({"2, 32", "3, 32", "2, 64", "3, 64", "3, 1", "3, 0"})
    void roundTripsEveryValueTypeAndTensors(int version, int alignment) {
        GgufWriter w = new GgufWriter().version(version);
        if (alignment > 0) {
            w.alignment(alignment);
        }
        Map<String, GgufValue> values = everyValueType();
        values.forEach(w::put);
        SplittableRandom rng = new SplittableRandom(version * 100L + alignment);
        Map<String, byte[]> data = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, GgmlType> types = new LinkedHashMap<>();
        Object[][] specs = {
            {"a", GgmlType.F32, new long[] {3}},
            {"b", GgmlType.Q8_0, new long[] {64, 3}},
            {"c", GgmlType.F16, new long[] {5, 1, 2, 3}},
            {"d", GgmlType.Q6_K, new long[] {256, 2}},
            {"e", GgmlType.BF16, new long[] {1}},
        };
        for (Object[] s : specs) {
            String name = (String) s[0];
            GgmlType type = (GgmlType) s[1];
            long[] shape = (long[]) s[2];
            long elements = 1;
            for (long d : shape) {
                elements *= d;
            }
            byte[] bytes = new byte[(int) type.byteSize(elements)];
            rng.nextBytes(bytes);
            w.addTensor(name, type, shape, bytes);
            data.put(name, bytes);
            shapes.put(name, shape);
            types.put(name, type);
        }
        byte[] file = w.toByteArray();
        try (GgufFile f = GgufFile.read(file)) {
            assertEquals(version, f.version());
            int effective = alignment > 0 ? alignment : GgufFile.DEFAULT_ALIGNMENT;
            assertEquals(effective, f.alignment());
            Map<String, GgufValue> read = new LinkedHashMap<>(f.metadata().asMap());
            if (alignment > 0) {
                assertEquals(GgufValue.ofUint32(alignment), read.remove(GgufFile.ALIGNMENT_KEY));
            } else {
                assertFalse(read.containsKey(GgufFile.ALIGNMENT_KEY), "alignment key only when set");
            }
            assertEquals(List.copyOf(values.keySet()), List.copyOf(read.keySet()), "keys in insertion order");
            for (String k : values.keySet()) {
                assertEquals(values.get(k), read.get(k), k);
            }
            assertEquals(List.copyOf(data.keySet()), f.tensors().stream().map(GgufTensorInfo::name).toList());
            for (GgufTensorInfo t : f.tensors()) {
                assertArrayEquals(shapes.get(t.name()), t.shape(), t.name());
                assertEquals(types.get(t.name()), t.type(), t.name());
                assertEquals(0, (f.dataOffset() + t.offset()) % effective, t.name() + " aligned");
                assertArrayEquals(data.get(t.name()), f.tensorData(t).toArray(ValueLayout.JAVA_BYTE), t.name());
            }
            assertEquals(0, file.length % effective, "last tensor padded");
        }
    }

    @Test
    void writesTheSameBytesAsLlamaCppForARealModel() {
        // Re-emit stories260K (v3, alignment 32, no general.alignment key) from its parsed form:
        // ggml's writer and ours must agree byte for byte.
        Path model = SharedModels.model("stories260K.gguf");
        byte[] original;
        try {
            original = java.nio.file.Files.readAllBytes(model);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
        try (GgufFile f = GgufFile.read(original)) {
            GgufWriter w = new GgufWriter();
            f.metadata().asMap().forEach(w::put);
            for (GgufTensorInfo t : f.tensors()) {
                w.addTensor(t.name(), t.type(), t.shape(), f.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
            }
            byte[] rewritten = w.toByteArray();
            assertEquals(original.length, rewritten.length);
            assertArrayEquals(original, rewritten);
        }
    }

    @Test
    void writesToAPath(@TempDir Path dir) throws java.io.IOException {
        Path p = dir.resolve("m.gguf");
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama").alignment(64)
                .addTensor("t", GgmlType.F32, new long[] {2}, new byte[] {1, 2, 3, 4, 5, 6, 7, 8})
                .addTensor("u", GgmlType.Q8_0, new long[] {32}, new byte[34]);
        w.write(p);
        assertArrayEquals(w.toByteArray(), java.nio.file.Files.readAllBytes(p), "streamed file equals toByteArray()");
        try (GgufFile f = GgufFile.open(p)) {
            assertEquals("llama", f.metadata().getString("general.architecture"));
            assertEquals(2, f.tensors().size());
        }
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> new GgufWriter().write(dir.resolve("missing-dir").resolve("x.gguf")));
        assertTrue(e.getMessage().contains("x.gguf"), e.getMessage());
    }

    @Test
    void validatesItsInput() {
        GgufWriter w = new GgufWriter();
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("t", GgmlType.Q8_0, new long[] {32, 2}, new byte[67]));
        assertTrue(size.getMessage().contains("needs 68 bytes"), size.getMessage());
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.Q8_0, new long[] {16}, new byte[17]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[] {0}, new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[] {}, new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[] {1, 1, 1, 1, 1}, new byte[4]));
        assertThrows(IllegalArgumentException.class,
                () -> w.addTensor("t", GgmlType.F32, new long[] {1L << 40, 1L << 40}, new byte[4]));
        w.addTensor("t", GgmlType.F32, new long[] {1}, new byte[4]);
        assertThrows(IllegalArgumentException.class, () -> w.addTensor("t", GgmlType.F32, new long[] {1}, new byte[4]));
        assertThrows(IllegalArgumentException.class, () -> w.alignment(0));
        assertThrows(IllegalArgumentException.class, () -> w.alignment(3));
        assertThrows(IllegalArgumentException.class, () -> w.alignment(-8));
        assertThrows(IllegalArgumentException.class, () -> w.version(1));
        assertThrows(IllegalArgumentException.class, () -> w.putUint32("k", -1));
        assertThrows(IllegalArgumentException.class, () -> w.putString("", "v"));
        assertThrows(IllegalArgumentException.class, () -> w.putString(GgufFile.ALIGNMENT_KEY, "64"));
        assertThrows(IllegalArgumentException.class, () -> w.putInt32(GgufFile.ALIGNMENT_KEY, 48));
        // An explicit general.alignment drives the layout.
        byte[] file = new GgufWriter().putInt32(GgufFile.ALIGNMENT_KEY, 128)
                .addTensor("x", GgmlType.F32, new long[] {1}, new byte[4]).toByteArray();
        try (GgufFile f = GgufFile.read(file)) {
            assertEquals(128, f.alignment());
            assertEquals(0, f.dataOffset() % 128);
            assertEquals(new GgufValue(GgufValueType.INT32, 128), f.metadata().get(GgufFile.ALIGNMENT_KEY));
        }
    }
}
