package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.BlockMatrix;
import io.kvcache.tensor.internal.VectorSupport;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class WeightMatrixTest {
    static final List<GgmlType> TYPES = WeightMatrix.supportedTypes();

    static Stream<GgmlType> types() {
        return TYPES.stream();
    }

    /** A matrix over random blocks placed at an odd byte offset, so every access is unaligned. */
    static WeightMatrix randomMatrix(GgmlType type, int rows, int cols, long seed, byte[][] bytesOut) {
        int blocks = Math.toIntExact((long) rows * cols / type.blockSize());
        byte[] bytes = Quantizer.randomBlocks(type, blocks, new SplittableRandom(seed));
        bytesOut[0] = bytes;
        byte[] padded = new byte[bytes.length + 3];
        System.arraycopy(bytes, 0, padded, 1, bytes.length);
        MemorySegment seg = MemorySegment.ofArray(padded).asSlice(1, bytes.length);
        return WeightMatrix.of(type, seg, rows, cols);
    }

    static void assertSameBits(float expected, float actual, String what) {
        if (Float.isNaN(expected) && Float.isNaN(actual)) {
            return;
        }
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                () -> what + ": expected " + expected + " got " + actual);
    }

    @ParameterizedTest
    @MethodSource("types")
    void dequantizationIsBitExactWithTheGgmlFormulas(GgmlType type) {
        int cols = 1024;
        int rows = 5;
        byte[][] bytes = new byte[1][];
        WeightMatrix m = randomMatrix(type, rows, cols, 42 + type.id(), bytes);
        float[] expected = ReferenceDequant.dequantize(type, bytes[0], rows * cols);
        float[] row = new float[cols + 7];
        for (int r = 0; r < rows; r++) {
            m.dequantizeRow(r, row, 7);
            for (int c = 0; c < cols; c++) {
                assertSameBits(expected[r * cols + c], row[7 + c], type + " row " + r + " col " + c);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("types")
    void dequantizationOfArbitraryBitPatternsIsBitExact(GgmlType type) {
        // Random bytes everywhere, scales included: covers subnormal, huge, infinite and NaN scales.
        int cols = 512;
        byte[] bytes = new byte[Math.toIntExact(type.byteSize(cols) * 3)];
        new SplittableRandom(7 + type.id()).nextBytes(bytes);
        WeightMatrix m = WeightMatrix.of(type, MemorySegment.ofArray(bytes), 3, cols);
        float[] expected = ReferenceDequant.dequantize(type, bytes, 3 * cols);
        float[] row = new float[cols];
        for (int r = 0; r < 3; r++) {
            m.dequantizeRow(r, row, 0);
            for (int c = 0; c < cols; c++) {
                assertSameBits(expected[r * cols + c], row[c], type + " row " + r + " col " + c);
            }
        }
    }

    @Test
    void everyHalfValueWidensExactly() {
        byte[] bytes = new byte[2 * 65536];
        for (int i = 0; i < 65536; i++) {
            bytes[2 * i] = (byte) i;
            bytes[2 * i + 1] = (byte) (i >>> 8);
        }
        WeightMatrix m = WeightMatrix.of(GgmlType.F16, MemorySegment.ofArray(bytes), 1, 65536);
        float[] row = new float[65536];
        m.dequantizeRow(0, row, 0);
        for (int i = 0; i < 65536; i++) {
            assertSameBits(ReferenceDequant.halfToFloat((short) i), row[i], "half 0x" + Integer.toHexString(i));
        }
        // The vector kernel widens with bit tricks: a row holding one value among zeros, dotted
        // with ones, reads that value back through the kernel, in every lane position.
        byte[] one = new byte[64];
        WeightMatrix single = WeightMatrix.of(GgmlType.F16, MemorySegment.ofArray(one), 1, 32);
        float[] ones = new float[32];
        java.util.Arrays.fill(ones, 1f);
        for (int i = 0; i < 65536; i++) {
            int lane = i % 32;
            one[2 * lane] = (byte) i;
            one[2 * lane + 1] = (byte) (i >>> 8);
            float expected = ReferenceDequant.halfToFloat((short) i);
            float got = single.dot(0, ones, 0);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(got), "half 0x" + Integer.toHexString(i));
            } else {
                assertEquals(expected, got, 0f, "half 0x" + Integer.toHexString(i));
            }
            one[2 * lane] = 0;
            one[2 * lane + 1] = 0;
        }
    }

    static Stream<Arguments> dotCases() {
        return TYPES.stream().flatMap(t -> (t.blockSize() == 256 ? Stream.of(256, 512, 4096)
                : t.blockSize() == 32 ? Stream.of(32, 64, 256, 4096, 4128)
                : Stream.of(1, 5, 37, 100, 32, 64, 256, 4096, 4128)) // plain types: tails shorter than a vector
                .map(cols -> Arguments.of(t, cols)));
    }

    @ParameterizedTest
    @MethodSource("dotCases")
    void dotMatchesADoublePrecisionReference(GgmlType type, int cols) {
        int rows = 7;
        byte[][] bytes = new byte[1][];
        WeightMatrix m = randomMatrix(type, rows, cols, 1000 + cols + type.id(), bytes);
        float[] w = ReferenceDequant.dequantize(type, bytes[0], rows * cols);
        SplittableRandom rng = new SplittableRandom(cols);
        float[] x = new float[cols + 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        BlockMatrix block = (BlockMatrix) m;
        for (int r = 0; r < rows; r++) {
            double exact = 0;
            double magnitude = 0;
            for (int c = 0; c < cols; c++) {
                exact += (double) w[r * cols + c] * x[5 + c];
                magnitude += Math.abs((double) w[r * cols + c] * x[5 + c]);
            }
            double tolerance = 1e-5 * magnitude + 1e-30;
            String what = type + " cols " + cols + " row " + r;
            assertEquals(exact, m.dot(r, x, 5), tolerance, what + " dot");
            assertEquals(exact, block.scalarDot(r, x, 5), tolerance, what + " scalar");
            if (VectorSupport.ENABLED) {
                assertEquals(exact, block.vectorDot(r, x, 5), tolerance, what + " vector");
            }
        }
    }

    @Test
    void vectorKernelsAreActiveWhenTheModuleIsPresent() {
        // Surefire runs with --add-modules=jdk.incubator.vector: the fast path must really be on.
        boolean present = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        boolean forcedOff = "false".equals(System.getProperty("kvcache.vector"));
        assertEquals(present && !forcedOff, VectorSupport.ENABLED);
    }

    @Test
    void halfInfinityPropagatesThroughBothKernels() {
        byte[] bytes = Quantizer.quantize(GgmlType.F16, new float[64]);
        bytes[2 * 40] = 0;
        bytes[2 * 40 + 1] = (byte) 0x7c; // +inf
        WeightMatrix m = WeightMatrix.of(GgmlType.F16, MemorySegment.ofArray(bytes), 1, 64);
        float[] x = new float[64];
        java.util.Arrays.fill(x, 1f);
        assertEquals(Float.POSITIVE_INFINITY, m.dot(0, x, 0));
        assertEquals(Float.POSITIVE_INFINITY, ((BlockMatrix) m).scalarDot(0, x, 0));
    }

    @Test
    void ofGgufTensorMapsShapeToRowsAndCols() {
        byte[] q8 = Quantizer.randomBlocks(GgmlType.Q8_0, 6, new SplittableRandom(1));
        byte[] file = new io.kvcache.gguf.GgufWriter()
                .addTensor("vec", GgmlType.F32, new long[] {5}, new byte[20])
                .addTensor("mat", GgmlType.Q8_0, new long[] {64, 3}, q8)
                .addTensor("flat3", GgmlType.Q8_0, new long[] {64, 3, 1}, q8)
                .addTensor("cube", GgmlType.Q8_0, new long[] {64, 1, 3}, q8)
                .addTensor("k", GgmlType.Q2_K, new long[] {256}, new byte[84])
                .toByteArray();
        try (io.kvcache.gguf.GgufFile f = io.kvcache.gguf.GgufFile.read(file)) {
            WeightMatrix vec = WeightMatrix.of(f, f.tensor("vec"));
            assertEquals(1, vec.rows());
            assertEquals(5, vec.cols());
            WeightMatrix mat = WeightMatrix.of(f, f.tensor("mat"));
            assertEquals(3, mat.rows());
            assertEquals(64, mat.cols());
            assertEquals(GgmlType.Q8_0, mat.type());
            float[] expected = ReferenceDequant.dequantize(GgmlType.Q8_0, q8, 192);
            float[] row = new float[64];
            mat.dequantizeRow(2, row, 0);
            assertArrayEquals(java.util.Arrays.copyOfRange(expected, 128, 192), row);
            assertEquals(3, WeightMatrix.of(f, f.tensor("flat3")).rows());
            IllegalArgumentException cube = assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(f, f.tensor("cube")));
            assertTrue(cube.getMessage().contains("cube"), cube.getMessage());
            UnsupportedTensorTypeException k = assertThrows(UnsupportedTensorTypeException.class, () -> WeightMatrix.of(f, f.tensor("k")));
            assertTrue(k.getMessage().contains("tensor 'k'") && k.getMessage().contains("Q6_K"), k.getMessage());
        }
    }

    @Test
    void rejectsBadGeometryAndUnsupportedTypes() {
        MemorySegment small = MemorySegment.ofArray(new byte[34 * 4]);
        IllegalArgumentException tooSmall = assertThrows(IllegalArgumentException.class,
                () -> WeightMatrix.of(GgmlType.Q8_0, small, 5, 32));
        assertTrue(tooSmall.getMessage().contains("needs 170 bytes"), tooSmall.getMessage());
        assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(GgmlType.Q8_0, small, 1, 33));
        assertThrows(IllegalArgumentException.class, () -> WeightMatrix.of(GgmlType.Q8_0, small, 0, 32));
        UnsupportedTensorTypeException e = assertThrows(UnsupportedTensorTypeException.class,
                () -> WeightMatrix.of(GgmlType.Q2_K, small, 1, 256));
        assertEquals(GgmlType.Q2_K, e.type());
        for (GgmlType t : TYPES) {
            assertTrue(e.getMessage().contains(t.name()), e.getMessage());
        }
        WeightMatrix m = WeightMatrix.of(GgmlType.Q8_0, small, 4, 32);
        assertThrows(IndexOutOfBoundsException.class, () -> m.dot(4, new float[32], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> m.dot(0, new float[32], 1));
        assertThrows(IndexOutOfBoundsException.class, () -> m.dequantizeRow(-1, new float[32], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> m.dequantizeRow(0, new float[40], 9));
    }
}
