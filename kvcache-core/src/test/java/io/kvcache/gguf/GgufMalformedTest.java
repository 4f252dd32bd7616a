package io.kvcache.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Hand-made malformed GGUF files: every one must be rejected with {@link GgufFormatException}
 * and nothing else (no OutOfMemoryError, IndexOutOfBoundsException, NullPointerException...).
 */
class GgufMalformedTest {

    /** Little-endian byte writer for raw GGUF fields. */
    static final class Raw {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Raw u8(int v) {
            out.write(v);
            return this;
        }

        Raw u32(long v) {
            for (int i = 0; i < 4; i++) {
                out.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        Raw u64(long v) {
            for (int i = 0; i < 8; i++) {
                out.write((int) (v >>> (8 * i)));
            }
            return this;
        }

        Raw str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            out.write(b, 0, b.length);
            return this;
        }

        /** A string whose length field says {@code len} while {@code s} follows. */
        Raw strWithLength(long len, String s) {
            u64(len);
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.write(b, 0, b.length);
            return this;
        }

        Raw pad(int alignment) {
            while (out.size() % alignment != 0) {
                out.write(0);
            }
            return this;
        }

        Raw bytes(byte[] b) {
            out.write(b, 0, b.length);
            return this;
        }

        byte[] toByteArray() {
            return out.toByteArray();
        }
    }

    /** A file: header, {@code kvCount} entries written by {@code kvs}, tensor infos, padding, data. */
    static byte[] file(int version, long tensorCount, long kvCount, Consumer<Raw> kvs, Consumer<Raw> infos,
            int alignment, int dataBytes) {
        Raw r = new Raw().u32(GgufFile.MAGIC).u32(version).u64(tensorCount).u64(kvCount);
        kvs.accept(r);
        infos.accept(r);
        r.pad(alignment);
        return r.bytes(new byte[dataBytes]).toByteArray();
    }

    /** One kv entry and one F32 [8] tensor at offset 0: valid. */
    static byte[] withKv(Consumer<Raw> kv) {
        return file(3, 1, 1, kv, GgufMalformedTest::oneTensor, 32, 32);
    }

    /** The standard kv entry and one tensor info written by {@code info}, with 64 data bytes. */
    static byte[] withTensor(Consumer<Raw> info) {
        return file(3, 1, 1, r -> r.str("general.architecture").u32(8).str("llama"), info, 32, 64);
    }

    static void oneTensor(Raw r) {
        r.str("t").u32(1).u64(8).u32(GgmlType.F32.id()).u64(0);
    }

    /** A valid small file with every kind of section, sized so no byte is padding. */
    static byte[] validFile() {
        GgufWriter w = new GgufWriter()
                .putString("general.architecture", "llama")
                .putUint32("llama.block_count", 2)
                .putArray("tokenizer.ggml.tokens", GgufArray.ofStrings("<s>", "a", "b"))
                .putArray("nested", GgufArray.ofArrays(GgufArray.ofBooleans(new boolean[] {true, false})))
                .put("f64", new GgufValue(GgufValueType.FLOAT64, 1.5))
                .addTensor("a", GgmlType.Q8_0, new long[] {32, 1}, new byte[34])
                .addTensor("b", GgmlType.F32, new long[] {8}, new byte[32]);
        return w.toByteArray();
    }

    record Case(String name, byte[] bytes) {
    }

    static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        byte[] valid = validFile();
        for (int len = 0; len < valid.length; len++) {
            c.add(new Case("truncated to " + len + " of " + valid.length + " bytes", Arrays.copyOf(valid, len)));
        }
        // Header
        for (int magic : new int[] {0, 0x47475546, 0x46554746, -1}) {
            byte[] b = valid.clone();
            b[0] = (byte) magic;
            b[1] = (byte) (magic >>> 8);
            b[2] = (byte) (magic >>> 16);
            b[3] = (byte) (magic >>> 24);
            c.add(new Case("magic 0x" + Integer.toHexString(magic), b));
        }
        for (long v : new long[] {0, 1, 4, 0x02000000L, 0x03000000L, 0xFFFFFFFFL}) {
            c.add(new Case("version " + v, file((int) v, 0, 0, r -> { }, r -> { }, 32, 0)));
        }
        long[] huge = {-1L, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 32, 1L << 31, Integer.MAX_VALUE, 1000, 4096};
        for (long n : huge) {
            c.add(new Case("tensor count " + n, file(3, n, 0, r -> { }, r -> { }, 32, 0)));
            c.add(new Case("kv count " + n, file(3, 0, n, r -> { }, r -> { }, 32, 0)));
            c.add(new Case("key length " + n, file(3, 0, 1, r -> r.strWithLength(n, "abc").u32(4).u32(1), r -> { }, 32, 0)));
            c.add(new Case("string value length " + n, withKv(r -> r.str("k").u32(8).strWithLength(n, "v"))));
            c.add(new Case("tensor name length " + n, withTensor(r -> r.strWithLength(n, "t").u32(1).u64(8).u32(0).u64(0))));
            for (GgufValueType et : GgufValueType.values()) {
                c.add(new Case("array of " + et + " length " + n, withKv(r -> r.str("k").u32(9).u32(et.id()).u64(n).u64(0))));
            }
        }
        c.add(new Case("empty key", withKv(r -> r.str("").u32(4).u32(1))));
        // Unknown value types, as a value and as an array element type
        for (long t : new long[] {13, 14, 255, 0x7FFFFFFFL, 0xFFFFFFFFL}) {
            c.add(new Case("value type " + t, withKv(r -> r.str("k").u32(t).u32(0))));
            c.add(new Case("array element type " + t, withKv(r -> r.str("k").u32(9).u32(t).u64(1).u32(0))));
        }
        // Nested arrays too deep
        for (int depth : new int[] {9, 10, 50, 1000}) {
            c.add(new Case("arrays nested " + depth + " deep", withKv(r -> {
                r.str("k").u32(9);
                for (int i = 0; i < depth; i++) {
                    r.u32(9).u64(1);
                }
                r.u32(4).u64(0);
            })));
        }
        // Bools other than 0/1
        for (int v : new int[] {2, 0x7F, 0x80, 0xFF}) {
            c.add(new Case("bool " + v, withKv(r -> r.str("k").u32(7).u8(v))));
            c.add(new Case("bool " + v + " in array", withKv(r -> r.str("k").u32(9).u32(7).u64(3).u8(1).u8(v).u8(0))));
        }
        c.add(new Case("duplicate key", file(3, 1, 2, r -> r.str("k").u32(4).u32(1).str("k").u32(4).u32(2),
                GgufMalformedTest::oneTensor, 32, 32)));
        c.add(new Case("duplicate tensor name", file(3, 2, 0, r -> { }, r -> {
            r.str("t").u32(1).u64(8).u32(0).u64(0);
            r.str("t").u32(1).u64(8).u32(0).u64(32);
        }, 32, 64)));
        // Alignment values
        for (long a : new long[] {0, 3, 6, 48, 0xFFFFFFFFL, 1L << 31}) {
            c.add(new Case("alignment u32 " + a, file(3, 1, 1, r -> r.str("general.alignment").u32(4).u32(a),
                    GgufMalformedTest::oneTensor, 32, 32)));
        }
        for (int a : new int[] {-1, -32, Integer.MIN_VALUE, 0, 3}) {
            c.add(new Case("alignment i32 " + a, file(3, 1, 1, r -> r.str("general.alignment").u32(5).u32(a),
                    GgufMalformedTest::oneTensor, 32, 32)));
        }
        c.add(new Case("alignment u64 2^40", file(3, 1, 1, r -> r.str("general.alignment").u32(10).u64(1L << 40),
                GgufMalformedTest::oneTensor, 32, 32)));
        c.add(new Case("alignment as string", file(3, 1, 1, r -> r.str("general.alignment").u32(8).str("32"),
                GgufMalformedTest::oneTensor, 32, 32)));
        c.add(new Case("alignment as float", file(3, 1, 1, r -> r.str("general.alignment").u32(6).u32(Float.floatToIntBits(32f)),
                GgufMalformedTest::oneTensor, 32, 32)));
        // Tensor infos
        for (long rank : new long[] {0, 5, 8, 0xFFFFFFFFL}) {
            c.add(new Case("rank " + rank, withTensor(r -> {
                r.str("t").u32(rank);
                for (int i = 0; i < Math.min(rank, 8); i++) {
                    r.u64(1);
                }
                r.u32(0).u64(0);
            })));
        }
        for (long dim : new long[] {0, -1, Long.MIN_VALUE}) {
            c.add(new Case("dimension " + dim, withTensor(r -> r.str("t").u32(2).u64(8).u64(dim).u32(0).u64(0))));
        }
        c.add(new Case("element count overflow", withTensor(r -> r.str("t").u32(3).u64(1L << 32).u64(1L << 32).u64(1L << 32).u32(0).u64(0))));
        c.add(new Case("byte size overflow", withTensor(r -> r.str("t").u32(2).u64(1L << 31).u64(1L << 31).u32(0).u64(0))));
        c.add(new Case("huge tensor", withTensor(r -> r.str("t").u32(2).u64(1L << 20).u64(1L << 20).u32(0).u64(0))));
        for (long type : new long[] {4, 5, 31, 32, 33, 36, 40, 64, 1000, 0xFFFFFFFFL}) {
            c.add(new Case("ggml type " + type, withTensor(r -> r.str("t").u32(1).u64(256).u32(type).u64(0))));
        }
        c.add(new Case("partial block", withTensor(r -> r.str("t").u32(1).u64(16).u32(GgmlType.Q8_0.id()).u64(0))));
        for (long off : new long[] {1, 31, 33, 64, 96, 1L << 40, -32, Long.MIN_VALUE, Long.MAX_VALUE & ~31L}) {
            c.add(new Case("tensor offset " + off, withTensor(r -> r.str("t").u32(1).u64(8).u32(0).u64(off))));
        }
        c.add(new Case("tensor data runs past the end", withTensor(r -> r.str("t").u32(1).u64(17).u32(0).u64(0))));
        c.add(new Case("second tensor past the end", file(3, 2, 0, r -> { }, r -> {
            r.str("a").u32(1).u64(8).u32(0).u64(0);
            r.str("b").u32(1).u64(8).u32(0).u64(32);
        }, 32, 32)));
        return c;
    }

    @Test
    void theGeneratorsBaseFilesAreValid() {
        byte[] valid = validFile();
        try (GgufFile f = GgufFile.read(valid)) {
            assertEquals(2, f.tensors().size());
        }
        // Every mutation above starts from one of these; each must parse before being broken.
        GgufFile.read(withKv(r -> r.str("k").u32(7).u8(1)));
        GgufFile.read(withTensor(r -> r.str("t").u32(1).u64(16).u32(0).u64(0)));
        GgufFile.read(withKv(r -> r.str("k").u32(9).u32(9).u64(1).u32(4).u64(0)));
        GgufFile.read(file(3, 1, 1, r -> r.str("general.alignment").u32(4).u32(64), GgufMalformedTest::oneTensor, 64, 32));
    }

    @TestFactory
    Stream<DynamicTest> everyMalformedFileIsRejectedWithAFormatException() {
        List<Case> cases = cases();
        assertTrue(cases.size() >= 200, cases.size() + " cases");
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            try {
                GgufFile f = GgufFile.read(c.bytes());
                fail(c.name() + ": accepted as " + f);
            } catch (GgufFormatException expected) {
                assertTrue(expected.getMessage().startsWith("<memory>: "), expected.getMessage());
            } catch (Throwable t) {
                fail(c.name() + ": rejected with " + t + " instead of GgufFormatException", t);
            }
        }));
    }
}
