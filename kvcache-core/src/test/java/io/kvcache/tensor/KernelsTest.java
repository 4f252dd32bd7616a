package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.BlockMatrix;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class KernelsTest {
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

    static Stream<Arguments> cases() {
        return WeightMatrix.supportedTypes().stream().flatMap(t -> (t.blockSize() == 256
                ? Stream.of(new int[] {256, 67}, new int[] {4096, 37}, new int[] {512, 1})
                : Stream.of(new int[] {32, 101}, new int[] {64, 5}, new int[] {256, 67}, new int[] {4096, 37}))
                .map(rc -> Arguments.of(t, rc[0], rc[1])));
    }

    private static float[] randomVector(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return x;
    }

    private static void assertRowClose(float[] w, int cols, int r, float[] x, int xOff, float got, String what) {
        double exact = 0;
        double magnitude = 0;
        for (int c = 0; c < cols; c++) {
            exact += (double) w[r * cols + c] * x[xOff + c];
            magnitude += Math.abs((double) w[r * cols + c] * x[xOff + c]);
        }
        assertEquals(exact, got, 1e-5 * magnitude + 1e-30, what + " row " + r);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void matvecAndMatmulMatchADoubleReferenceOnEveryPoolSize(GgmlType type, int cols, int rows) {
        byte[][] bytes = new byte[1][];
        WeightMatrix m = WeightMatrixTest.randomMatrix(type, rows, cols, 77L * cols + rows, bytes);
        float[] w = ReferenceDequant.dequantize(type, bytes[0], rows * cols);
        for (ComputePool pool : pools) {
            String what = type + " " + rows + "x" + cols + " on " + pool.threads() + " threads";
            float[] x = randomVector(cols + 3, cols);
            float[] out = new float[rows + 2];
            out[0] = 42;
            out[rows + 1] = 43;
            Kernels.matvec(m, x, 3, out, 1, pool);
            assertEquals(42, out[0]);
            assertEquals(43, out[rows + 1]);
            float[] xr = ReferenceDequant.kernelInputs(type, Arrays.copyOfRange(x, 3, x.length), cols);
            for (int r = 0; r < rows; r++) {
                assertRowClose(w, cols, r, xr, 0, out[1 + r], what + " matvec");
            }
            Kernels.matvec(m, x, 3, out, 1, pool, false);
            for (int r = 0; r < rows; r++) {
                assertRowClose(w, cols, r, x, 3, out[1 + r], what + " matvec (F32 activations)");
            }
            for (int n : new int[] {1, 3, 17}) {
                float[] xs = randomVector(n * cols, n * 31L + cols);
                float[] outs = new float[n * rows];
                Kernels.matmul(m, xs, n, outs, pool);
                float[] xsr = ReferenceDequant.kernelInputs(type, xs, cols);
                for (int i = 0; i < n; i++) {
                    for (int r = 0; r < rows; r++) {
                        assertRowClose(w, cols, r, xsr, i * cols, outs[i * rows + r], what + " matmul n=" + n + " vector " + i);
                    }
                }
                Kernels.matmul(m, xs, n, outs, pool, false);
                for (int i = 0; i < n; i++) {
                    for (int r = 0; r < rows; r++) {
                        assertRowClose(w, cols, r, xs, i * cols, outs[i * rows + r],
                                what + " matmul n=" + n + " vector " + i + " (F32 activations)");
                    }
                }
            }
        }
    }

    /**
     * A batch of one is exactly {@link Kernels#matvec}; a larger batch sums in another order (one
     * dequantized panel, a register-blocked kernel), so it agrees with repeated matvecs only up
     * to float rounding.
     */
    @Test
    void matmulAgreesWithRepeatedMatvecAndIsExactForOneVector() {
        byte[][] bytes = new byte[1][];
        WeightMatrix m = WeightMatrixTest.randomMatrix(GgmlType.Q8_0, 61, 1024, 5, bytes);
        float[] w = ReferenceDequant.dequantize(GgmlType.Q8_0, bytes[0], 61 * 1024);
        float[] xs = randomVector(9 * 1024, 9);
        float[] outs = new float[9 * 61];
        Kernels.matmul(m, xs, 9, outs, pools[2]);
        float[] one = new float[61];
        float[] single = new float[61];
        for (int i = 0; i < 9; i++) {
            Kernels.matvec(m, xs, i * 1024, one, 0, pools[1]);
            Kernels.matmul(m, java.util.Arrays.copyOfRange(xs, i * 1024, (i + 1) * 1024), 1, single, pools[2]);
            for (int r = 0; r < 61; r++) {
                double magnitude = 0;
                for (int c = 0; c < 1024; c++) {
                    magnitude += Math.abs((double) w[r * 1024 + c] * xs[i * 1024 + c]);
                }
                // Rounding only: the horizontal sum's lane order differs between interpreted and compiled code.
                assertEquals(one[r], single[r], 1e-6 * magnitude, "n=1, vector " + i + " row " + r);
                assertEquals(one[r], outs[i * 61 + r], 2e-5 * magnitude, "vector " + i + " row " + r);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("io.kvcache.tensor.WeightMatrixTest#types")
    void dotRowsOverAnyRangeEqualsTheRowDots(GgmlType type) {
        int cols = type.blockSize() == 256 ? 512 : 96;
        byte[][] bytes = new byte[1][];
        BlockMatrix m = (BlockMatrix) WeightMatrixTest.randomMatrix(type, 13, cols, type.id() + 5L, bytes);
        float[] x = randomVector(cols + 2, 9);
        for (int[] range : new int[][] {{0, 13}, {0, 1}, {5, 7}, {12, 1}, {3, 0}}) {
            float[] out = new float[range[1] + 3];
            Arrays.fill(out, 99f);
            m.dotRows(range[0], range[1], x, 2, out, 2);
            assertEquals(99f, out[0]);
            assertEquals(99f, out[1]);
            assertEquals(99f, out[range[1] + 2]);
            for (int i = 0; i < range[1]; i++) {
                float expected = m.dot(range[0] + i, x, 2);
                assertEquals(expected, out[2 + i], 1e-5f * (1 + Math.abs(expected)), type + " row " + (range[0] + i));
            }
        }
        assertThrows(IndexOutOfBoundsException.class, () -> m.dotRows(10, 4, x, 0, new float[4], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> m.dotRows(0, 4, x, 3, new float[4], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> m.dotRows(0, 4, x, 0, new float[4], 1));
    }

    @Test
    void arrayDotMatchesADoubleReference() {
        for (int n : new int[] {0, 1, 7, 16, 33, 4096}) {
            float[] a = randomVector(n + 2, n);
            float[] b = randomVector(n + 1, n + 100);
            double exact = 0;
            double magnitude = 0;
            for (int i = 0; i < n; i++) {
                exact += (double) a[2 + i] * b[1 + i];
                magnitude += Math.abs((double) a[2 + i] * b[1 + i]);
            }
            assertEquals(exact, Kernels.dot(a, 2, b, 1, n), 1e-5 * magnitude + 1e-30, "n " + n);
        }
        assertThrows(IndexOutOfBoundsException.class, () -> Kernels.dot(new float[4], 1, new float[4], 0, 4));
    }

    @Test
    void rejectsShortArrays() {
        byte[][] bytes = new byte[1][];
        WeightMatrix m = WeightMatrixTest.randomMatrix(GgmlType.F32, 4, 32, 1, bytes);
        assertThrows(IndexOutOfBoundsException.class, () -> Kernels.matvec(m, new float[31], 0, new float[4], 0, pools[0]));
        assertThrows(IndexOutOfBoundsException.class, () -> Kernels.matvec(m, new float[32], 0, new float[4], 1, pools[0]));
        assertThrows(IndexOutOfBoundsException.class, () -> Kernels.matmul(m, new float[63], 2, new float[8], pools[0]));
        assertThrows(IndexOutOfBoundsException.class, () -> Kernels.matmul(m, new float[64], 2, new float[7], pools[0]));
        assertThrows(IllegalArgumentException.class, () -> Kernels.matmul(m, new float[64], -1, new float[8], pools[0]));
    }
}
