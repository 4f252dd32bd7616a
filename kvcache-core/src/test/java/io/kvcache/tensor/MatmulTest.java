package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgmlType;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Kernels#matmul}: every (row, vector) against a double-precision dot of the reference
 * dequantization, for every type, batch sizes around the kernel's 2 x 4 tile, row counts that
 * are not multiples of the tile and span several panels, columns past the last whole vector
 * (F32/F16/BF16), on 1 to 3 threads; bit-exact dequantization through the product; and no
 * allocation in steady state.
 */
class MatmulTest {
    private static final int[] BATCHES = {1, 2, 3, 5, 8, 12, 16, 17, 24, 64};
    private static ComputePool[] pools;

    @BeforeAll
    static void startPools() {
        pools = new ComputePool[] {ComputePool.create(1), ComputePool.create(2), ComputePool.create(3)};
    }

    @AfterAll
    static void stopPools() {
        for (ComputePool p : pools) {
            p.close();
        }
    }

    /** (type, cols, rows): 4096 columns make panels of 8 rows, so 37 rows span 5 panels. */
    static Stream<Arguments> shapes() {
        return WeightMatrix.supportedTypes().stream().flatMap(t -> {
            Stream<int[]> s = t.blockSize() == 256
                    ? Stream.of(new int[] {256, 7}, new int[] {4096, 37}, new int[] {768, 101})
                    : Stream.of(new int[] {32, 5}, new int[] {96, 101}, new int[] {4096, 37});
            if (t.blockSize() == 1) {
                s = Stream.concat(s, Stream.of(new int[] {13, 11}, new int[] {203, 67}));
            }
            return s.map(rc -> Arguments.of(t, rc[0], rc[1]));
        });
    }

    static float[] randomVectors(int length, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[length];
        for (int i = 0; i < length; i++) {
            x[i] = (float) rng.nextDouble(-1, 1);
        }
        return x;
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void everyRowAndVectorMatchesADoubleReference(GgmlType type, int cols, int rows) {
        byte[][] bytes = new byte[1][];
        WeightMatrix m = WeightMatrixTest.randomMatrix(type, rows, cols, 31L * cols + rows + type.id(), bytes);
        float[] w = ReferenceDequant.dequantize(type, bytes[0], rows * cols);
        for (ComputePool pool : pools) {
            for (int n : BATCHES) {
                float[] xs = randomVectors(n * cols, n * 7919L + cols);
                float[] out = new float[n * rows + 1];
                out[n * rows] = 42; // past the result: must stay untouched
                Kernels.matmul(m, xs, n, out, pool);
                assertEquals(42, out[n * rows], "wrote past n * rows");
                xs = ReferenceDequant.kernelInputs(type, xs, cols);
                for (int i = 0; i < n; i++) {
                    for (int r = 0; r < rows; r++) {
                        double exact = 0;
                        double magnitude = 0;
                        for (int c = 0; c < cols; c++) {
                            double p = (double) w[r * cols + c] * xs[i * cols + c];
                            exact += p;
                            magnitude += Math.abs(p);
                        }
                        float got = out[i * rows + r];
                        if (!(Math.abs(exact - got) <= 1e-5 * magnitude + 1e-30)) {
                            throw new AssertionError(type + " " + rows + "x" + cols + " n=" + n + " on " + pool.threads()
                                    + " threads: vector " + i + " row " + r + " = " + got + ", expected " + exact
                                    + " (tolerance " + 1e-5 * magnitude + ")");
                        }
                    }
                }
            }
        }
    }

    /**
     * With the unit vectors e_0 .. e_(cols-1) as the batch, out[j * rows + r] is exactly the
     * dequantized element (r, j): every product but one is an exact zero. So the panel
     * dequantizers (vectorized for some types) must reproduce llama.cpp's values bit for bit.
     * (F32 activations: a unit vector quantized to Q8_0 is 127 * f16(1/127), not 1.)
     */
    @ParameterizedTest
    @MethodSource("io.kvcache.tensor.WeightMatrixTest#types")
    void unitVectorsReproduceTheDequantizedMatrixExactly(GgmlType type) {
        int cols = type.blockSize() == 256 ? 256 : 64;
        int rows = 9;
        byte[][] bytes = new byte[1][];
        WeightMatrix m = WeightMatrixTest.randomMatrix(type, rows, cols, 5 + type.id(), bytes);
        float[] w = ReferenceDequant.dequantize(type, bytes[0], rows * cols);
        float[] xs = new float[cols * cols];
        for (int j = 0; j < cols; j++) {
            xs[j * cols + j] = 1;
        }
        float[] out = new float[cols * rows];
        Kernels.matmul(m, xs, cols, out, pools[1], false);
        for (int j = 0; j < cols; j++) {
            for (int r = 0; r < rows; r++) {
                // == rather than bits: a -0.0 element sums to +0.0 with the zeros.
                float expected = w[r * cols + j];
                float got = out[j * rows + r];
                assertTrue(expected == got, type + " element (" + r + ", " + j + "): " + got + " vs " + expected);
            }
        }
    }

    /**
     * A batch of one runs the matvec kernel itself. "Exactly" allows the rounding of a reordered sum:
     * the Vector API's horizontal sum adds lanes in another order when interpreted than when
     * C2-compiled, so the same kernel can differ in the last bits between two calls while the JIT
     * compiles it.
     */
    @Test
    void batchOfOneIsExactlyMatvec() {
        byte[][] bytes = new byte[1][];
        for (GgmlType type : WeightMatrix.supportedTypes()) {
            int cols = type.blockSize() == 256 ? 512 : 96;
            WeightMatrix m = WeightMatrixTest.randomMatrix(type, 70, cols, 3, bytes);
            float[] x = randomVectors(cols, 11);
            float[] viaMatvec = new float[70];
            float[] viaMatmul = new float[70];
            Kernels.matvec(m, x, 0, viaMatvec, 0, pools[1]);
            Kernels.matmul(m, x, 1, viaMatmul, pools[1]);
            float[] row = new float[cols];
            for (int r = 0; r < 70; r++) {
                m.dequantizeRow(r, row, 0);
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    magnitude += Math.abs((double) row[c] * x[c]);
                }
                assertEquals(viaMatvec[r], viaMatmul[r], 1e-6 * magnitude, type + " row " + r);
            }
        }
    }

    /**
     * Batches of two to five vectors with quantized activations run the integer matvec kernels
     * (two vectors at a time for Q8_0) and give the bits of one matvec per vector, on any pool size.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0"})
    void smallQuantizedBatchesAreBitIdenticalToMatvecs(GgmlType type) {
        int rows = 70;
        int cols = 512;
        WeightMatrix m = WeightMatrixTest.randomMatrix(type, rows, cols, 5, new byte[1][]);
        for (int n = 2; n <= 5; n++) {
            float[] xs = randomVectors(n * cols, 31L * n);
            for (ComputePool pool : pools) {
                float[] batched = new float[n * rows];
                Kernels.matmul(m, xs, n, batched, pool, true);
                for (int i = 0; i < n; i++) {
                    float[] single = new float[rows];
                    Kernels.matvec(m, xs, i * cols, single, 0, pool, true);
                    for (int r = 0; r < rows; r++) {
                        assertEquals(Float.floatToRawIntBits(single[r]), Float.floatToRawIntBits(batched[i * rows + r]),
                                type + ", batch of " + n + ", vector " + i + ", row " + r + ", " + pool);
                    }
                }
            }
        }
    }

    /**
     * A vector's result does not depend on the batch it is in: batches of 6 (one padded narrow
     * tile), 12 (one padded wide tile) and 24 (a wide and a narrow tile) give the first six vectors
     * the same bits, on matrices whose last rows fall outside the row tiles.
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "Q8_0", "Q4_K"})
    void aVectorsResultDoesNotDependOnTheBatchItIsIn(GgmlType type) {
        int cols = type.blockSize() == 256 ? 512 : 96;
        WeightMatrix m = WeightMatrixTest.randomMatrix(type, 203, cols, 5, new byte[1][]);
        float[] xs = randomVectors(24 * cols, 6);
        float[][] outs = new float[3][];
        int[] batches = {6, 12, 24};
        for (int b = 0; b < batches.length; b++) {
            outs[b] = new float[batches[b] * 203];
            Kernels.matmul(m, xs, batches[b], outs[b], pools[1]);
        }
        for (int i = 0; i < 6 * 203; i++) {
            WeightMatrixTest.assertSameBits(outs[0][i], outs[1][i], type + " batch 12, element " + i);
            WeightMatrixTest.assertSameBits(outs[0][i], outs[2][i], type + " batch 24, element " + i);
        }
    }

    /** The result does not depend on how rows are split across threads (ranges are whole tiles). */
    @Test
    void resultIsIndependentOfThePoolSize() {
        byte[][] bytes = new byte[1][];
        WeightMatrix m = WeightMatrixTest.randomMatrix(GgmlType.Q4_0, 203, 512, 17, bytes);
        float[] xs = randomVectors(9 * 512, 4);
        float[][] outs = new float[pools.length][9 * 203];
        for (int p = 0; p < pools.length; p++) {
            Kernels.matmul(m, xs, 9, outs[p], pools[p]);
        }
        for (int i = 0; i < outs[0].length; i++) {
            WeightMatrixTest.assertSameBits(outs[0][i], outs[1][i], "2 threads, element " + i);
            WeightMatrixTest.assertSameBits(outs[0][i], outs[2][i], "3 threads, element " + i);
        }
    }

    /**
     * After warm-up a product allocates nothing on the calling thread: the panel scratch, the rounded
     * inputs and the pool task are reused. Checked on the inline path (small products) and on a
     * one-thread pool, for two quantized types and a float type, in a child JVM: how C2 compiles the
     * vector kernels (and so whether it keeps every vector in registers) depends on the profile the
     * whole test suite leaves behind, which is not what this test is about.
     */
    @Test
    void steadyStateAllocatesNothing() throws IOException, InterruptedException {
        ChildJvm.run(AllocationCheck.class, List.of(), "ALLOCATION-OK");
    }

    /** The child JVM of {@link #steadyStateAllocatesNothing}. Exit code 0: no product allocated. */
    static final class AllocationCheck {
        public static void main(String[] args) {
            com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            if (!threads.isThreadAllocatedMemorySupported() || !threads.isThreadAllocatedMemoryEnabled()) {
                System.out.println("FAIL this JVM does not measure per-thread allocation");
                System.exit(2);
            }
            int failures = 0;
            byte[][] bytes = new byte[1][];
            try (ComputePool pool = ComputePool.create(1)) {
                for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.F32, GgmlType.Q4_K}) {
                    int cols = type.blockSize() == 256 ? 256 : 64;
                    // 24 x 64 x 8 = 12,288 < MIN_PARALLEL_ELEMENTS: inline; 200 x 256 x 8 goes through the pool.
                    for (int rows : new int[] {24, 200}) {
                        WeightMatrixTest.randomMatrix(type, rows, cols, 9, bytes);
                        // Off-heap, as models are: Vector API loads from array-backed segments box their vectors.
                        java.lang.foreign.MemorySegment weights = java.lang.foreign.Arena.ofAuto().allocate(bytes[0].length);
                        java.lang.foreign.MemorySegment.copy(java.lang.foreign.MemorySegment.ofArray(bytes[0]), 0, weights, 0,
                                bytes[0].length);
                        WeightMatrix m = WeightMatrix.of(type, weights, rows, cols);
                        float[] xs = randomVectors(8 * cols, 1);
                        float[] out = new float[8 * rows];
                        // Rounds of 1,000 products until the JIT has compiled the vector kernels (interpreted
                        // and C1 code boxes every vector); the steady state must then allocate nothing.
                        long allocated = Long.MAX_VALUE;
                        for (int round = 0; round < 40 && allocated >= 1_024; round++) {
                            long before = threads.getCurrentThreadAllocatedBytes();
                            for (int call = 0; call < 1_000; call++) {
                                Kernels.matmul(m, xs, 8, out, pool);
                            }
                            allocated = threads.getCurrentThreadAllocatedBytes() - before;
                        }
                        if (allocated >= 1_024) {
                            System.out.println("FAIL " + type + " " + rows + "x" + cols + ": 1,000 products allocated "
                                    + allocated + " bytes");
                            failures++;
                        }
                    }
                }
            }
            System.out.println(failures == 0 ? "ALLOCATION-OK" : "FAILURES " + failures);
            System.exit(failures == 0 ? 0 : 1);
        }
    }
}
