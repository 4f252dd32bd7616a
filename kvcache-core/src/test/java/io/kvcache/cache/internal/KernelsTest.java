package io.kvcache.cache.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.KvElementType;
import io.kvcache.tensor.internal.Expf;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vector kernels (selected when the incubator module is present, as in the default test JVM) agree
 * with the scalar ones; run with {@code -Dkvcache.jvm.flags=--enable-native-access=ALL-UNNAMED} to test
 * the whole module on the scalar fallback.
 */
class KernelsTest {

    @Test
    void q8KernelsMatchDecodeThenMultiply() {
        SplittableRandom random = new SplittableRandom(5);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(34L * 8 + 1);
            for (int n : new int[] {32, 64, 128, 256}) {
                float[] values = new float[n];
                float[] a = new float[n + 2];
                for (int i = 0; i < n; i++) {
                    values[i] = (float) random.nextDouble(-3, 3);
                }
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) random.nextDouble(-1, 1);
                }
                RowCodec.encode(io.kvcache.cache.KvElementType.Q8_0, values, 0, n, segment, 1);
                float[] decoded = new float[n];
                RowCodec.decode(io.kvcache.cache.KvElementType.Q8_0, segment, 1, n, decoded, 0);
                double exact = 0;
                for (int i = 0; i < n; i++) {
                    exact += (double) a[2 + i] * decoded[i];
                }
                for (Kernels kernels : new Kernels[] {Kernels.best(), Kernels.scalar()}) {
                    assertEquals(exact, kernels.dotQ8(a, 2, segment, 1, n), 1e-4 * n, kernels + " dotQ8 n=" + n);
                    float[] y = a.clone();
                    kernels.axpyQ8(-0.5f, segment, 1, y, 2, n);
                    for (int i = 0; i < a.length; i++) {
                        float expected = i < 2 ? a[i] : a[i] - 0.5f * decoded[i - 2];
                        assertEquals(expected, y[i], 1e-5f, kernels + " axpyQ8 n=" + n + " i=" + i);
                    }
                }
            }
        }
    }

    @Test
    void vectorAndScalarKernelsAgree() {
        Kernels best = Kernels.best();
        Kernels scalar = Kernels.scalar();
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            assertNotSame(scalar, best, "with jdk.incubator.vector present the vector kernels must be selected");
        } else {
            assertSame(scalar, best, "without jdk.incubator.vector the scalar kernels are the fallback");
        }
        SplittableRandom random = new SplittableRandom(3);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(4L * 300 + 2);
            for (int n : new int[] {1, 7, 15, 16, 17, 32, 64, 100, 128, 129, 256}) {
                float[] a = new float[n + 3];
                float[] b = new float[n + 5];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) random.nextDouble(-1, 1);
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) random.nextDouble(-1, 1);
                }
                long offset = 2; // unaligned rows (they follow Q8_0 sections in a block)
                MemorySegment.copy(b, 0, segment, RowCodec.FLOAT, offset, n);
                double exact = 0;
                for (int i = 0; i < n; i++) {
                    exact += (double) a[3 + i] * b[i];
                }
                double tolerance = 1e-5 * n;
                assertEquals(exact, best.dot(a, 3, segment, offset, n), tolerance, "segment dot n=" + n);
                assertEquals(exact, scalar.dot(a, 3, segment, offset, n), tolerance, "scalar segment dot n=" + n);
                assertEquals(exact, best.dot(a, 3, b, 0, n), tolerance, "array dot n=" + n);
                assertEquals(exact, scalar.dot(a, 3, b, 0, n), tolerance, "scalar array dot n=" + n);

                float[] y1 = a.clone();
                float[] y2 = a.clone();
                float[] y3 = a.clone();
                float[] y4 = a.clone();
                best.axpy(0.75f, segment, offset, y1, 3, n);
                scalar.axpy(0.75f, segment, offset, y2, 3, n);
                best.axpy(0.75f, b, 0, y3, 3, n);
                scalar.axpy(0.75f, b, 0, y4, 3, n);
                for (int i = 0; i < a.length; i++) {
                    float expected = i < 3 ? a[i] : a[i] + 0.75f * b[i - 3];
                    assertEquals(expected, y1[i], 1e-6f, "axpy n=" + n + " i=" + i);
                    assertEquals(expected, y2[i], 1e-6f);
                    assertEquals(expected, y3[i], 1e-6f);
                    assertEquals(expected, y4[i], 1e-6f);
                }
            }
        }
    }

    /**
     * The block kernels (scores over a run of rows, weighted sum of a run of rows) against a double
     * reference over the decoded rows: every element type, row counts around the four-row unrolling,
     * row lengths that are and are not a multiple of the lane count, unaligned rows with padding between.
     */
    @Test
    void blockKernelsMatchADoubleReferenceForEveryType() {
        SplittableRandom random = new SplittableRandom(17);
        try (Arena arena = Arena.ofConfined()) {
            for (KvElementType type : KvElementType.values()) {
                for (int n : type == KvElementType.Q8_0 ? new int[] {32, 64, 128} : new int[] {8, 12, 40, 64, 128}) {
                    long rowBytes = type.bytesFor(n) + 6; // padding between rows, like other heads' data
                    for (int rows : new int[] {1, 3, 4, 5, 8, 13, 32}) {
                        MemorySegment segment = arena.allocate(rowBytes * rows + 3);
                        float[][] decoded = new float[rows][n];
                        for (int p = 0; p < rows; p++) {
                            float[] values = new float[n];
                            for (int i = 0; i < n; i++) {
                                values[i] = (float) random.nextDouble(-2, 2);
                            }
                            RowCodec.encode(type, values, 0, n, segment, 3 + p * rowBytes);
                            RowCodec.decode(type, segment, 3 + p * rowBytes, n, decoded[p], 0);
                        }
                        for (int heads : new int[] {1, 3}) {
                            checkBlockKernels(type, segment, rowBytes, rows, n, heads, decoded, random);
                        }
                    }
                }
            }
        }
    }

    /** {@code heads} query heads sharing the rows (grouped-query attention), each against the double reference. */
    private static void checkBlockKernels(KvElementType type, MemorySegment segment, long rowBytes, int rows, int n,
                                          int heads, float[][] decoded, SplittableRandom random) {
        int outStride = rows + 1;
        float[] q = new float[heads * n + 1];
        float[] w = new float[heads * outStride + 2];
        for (int i = 0; i < q.length; i++) {
            q[i] = (float) random.nextDouble(-1, 1);
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) random.nextDouble(0, 1);
        }
        for (Kernels kernels : new Kernels[] {Kernels.best(), Kernels.scalar()}) {
            String what = kernels.getClass().getSimpleName() + " " + type + " n=" + n + " rows=" + rows + " heads=" + heads;
            float[] scores = new float[heads * outStride + 2];
            float[] scratch = new float[n + 4];
            kernels.scores(type, q, 1, heads, segment, 3, rowBytes, rows, n, 0.5f, scores, 2, outStride, scratch, 4);
            float[] acc = new float[heads * n + 3];
            acc[0] = 9f;
            for (int j = 0; j < heads; j++) {
                acc[3 + j * n] = 1f;
            }
            kernels.weightedSum(type, w, 2, outStride, heads, segment, 3, rowBytes, rows, n, acc, 3, scratch, 4);
            assertEquals(9f, acc[0], what + " must not write before its range");
            for (int j = 0; j < heads; j++) {
                for (int p = 0; p < rows; p++) {
                    double exact = 0;
                    for (int i = 0; i < n; i++) {
                        exact += (double) q[1 + j * n + i] * decoded[p][i];
                    }
                    assertEquals(0.5 * exact, scores[2 + j * outStride + p], 1e-5 * n, what + " head " + j + " score " + p);
                }
                for (int i = 0; i < n; i++) {
                    double exact = i == 0 ? 1 : 0;
                    for (int p = 0; p < rows; p++) {
                        exact += (double) w[2 + j * outStride + p] * decoded[p][i];
                    }
                    assertEquals(exact, acc[3 + j * n + i], 1e-5 * rows, what + " head " + j + " sum " + i);
                }
            }
        }
    }

    /**
     * llama.cpp's expf: the vector lanes equal the scalar port bit for bit (also across its out-of-range
     * path), and both stay within 2 ulp of the exact exponential; the returned sum is the sum of the results.
     */
    @Test
    void expShiftedMatchesTheScalarPortAndTheExactExponential() {
        SplittableRandom random = new SplittableRandom(23);
        for (int count : new int[] {1, 7, 8, 9, 16, 33, 1000}) {
            float[] x = new float[count + 2];
            for (int i = 0; i < x.length; i++) {
                // Mostly softmax-like inputs; some far below the maximum exercise the out-of-range path.
                x[i] = (float) (random.nextInt(10) == 0 ? random.nextDouble(-110, -80) : random.nextDouble(-20, 3));
            }
            float max = 3f;
            float[] vector = x.clone();
            float[] scalar = x.clone();
            double vectorSum = Kernels.best().expShifted(vector, 1, count, max);
            double scalarSum = Kernels.scalar().expShifted(scalar, 1, count, max);
            double expectedSum = 0;
            for (int i = 0; i < x.length; i++) {
                if (i < 1 || i > count) {
                    assertEquals(x[i], vector[i], "outside the range nothing changes");
                    continue;
                }
                assertEquals(Float.floatToIntBits(scalar[i]), Float.floatToIntBits(vector[i]), "lane " + i + " of " + count);
                double exact = Math.exp(x[i] - max); // the shift is a float subtraction, as in the kernels
                assertTrue(Math.abs(vector[i] - exact) <= 2 * Math.ulp((float) exact) || exact < 0x1p-126,
                        "expf(" + (x[i] - max) + ") = " + vector[i] + ", exact " + exact);
                expectedSum += vector[i];
            }
            assertEquals(expectedSum, vectorSum, 1e-6 * Math.abs(expectedSum));
            assertEquals(expectedSum, scalarSum, 1e-6 * Math.abs(expectedSum));
        }
        assertEquals(1f, Expf.exp(0f));
        assertEquals(0f, Expf.exp(-200f));
        assertEquals(Float.POSITIVE_INFINITY, Expf.exp(200f));
    }
}
