package io.kvcache.tensor.internal.vector;

import static io.kvcache.tensor.internal.vector.Species.F;
import static io.kvcache.tensor.internal.vector.Species.L;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The register-blocked float kernel of the batched product (its weight panels are filled by
 * {@link PanelDequant}). A panel is {@code aRows} dequantized weight rows of {@code k} floats;
 * the kernel computes {@value #ROWS} rows x {@value #VECTORS} input vectors at a time with one
 * accumulator per (row, vector) pair, loading {@value #ROWS} weight and {@value #VECTORS} input
 * vectors per step of {@code L} columns, and reduces each accumulator once at the end. 2 x 4
 * (8 accumulators, 11 live registers) measured faster on AVX2 than 3 x 4, 4 x 3, 3 x 3 and 2 x 6,
 * which need 13 to 17 registers and make C2 spill. Stateless, thread-safe.
 */
public final class GemmKernels {
    /** Weight rows per micro-tile. */
    public static final int ROWS = 2;
    /** Input vectors per micro-tile. */
    public static final int VECTORS = 4;

    private GemmKernels() {
    }

    /**
     * {@code out[t * outStride + outRow + r] = a[r*k .. r*k+k) . xs[t*k .. t*k+k)} for every
     * {@code r < aRows} and {@code t < n}.
     */
    public static void panel(float[] a, int aRows, int k, float[] xs, int n, float[] out, int outStride, int outRow) {
        int t = 0;
        for (; t + VECTORS <= n; t += VECTORS) {
            int o = t * outStride + outRow;
            int r = 0;
            for (; r + ROWS <= aRows; r += ROWS) {
                block2x4(a, r * k, k, xs, t * k, out, o + r, outStride);
            }
            for (; r < aRows; r++) {
                block1x4(a, r * k, k, xs, t * k, out, o + r, outStride);
            }
        }
        for (; t < n; t++) {
            int o = t * outStride + outRow;
            int r = 0;
            for (; r + ROWS <= aRows; r += ROWS) {
                block2x1(a, r * k, k, xs, t * k, out, o + r);
            }
            for (; r < aRows; r++) {
                out[o + r] = FloatDots.arrays(a, r * k, xs, t * k, k);
            }
        }
    }

    private static void block2x4(float[] a, int a0, int k, float[] x, int x0, float[] out, int o, int os) {
        int a1 = a0 + k;
        int x1 = x0 + k;
        int x2 = x1 + k;
        int x3 = x2 + k;
        FloatVector c00 = FloatVector.zero(F);
        FloatVector c01 = FloatVector.zero(F);
        FloatVector c02 = FloatVector.zero(F);
        FloatVector c03 = FloatVector.zero(F);
        FloatVector c10 = FloatVector.zero(F);
        FloatVector c11 = FloatVector.zero(F);
        FloatVector c12 = FloatVector.zero(F);
        FloatVector c13 = FloatVector.zero(F);
        int bound = F.loopBound(k);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector w0 = FloatVector.fromArray(F, a, a0 + i);
            FloatVector w1 = FloatVector.fromArray(F, a, a1 + i);
            FloatVector v = FloatVector.fromArray(F, x, x0 + i);
            c00 = w0.fma(v, c00);
            c10 = w1.fma(v, c10);
            v = FloatVector.fromArray(F, x, x1 + i);
            c01 = w0.fma(v, c01);
            c11 = w1.fma(v, c11);
            v = FloatVector.fromArray(F, x, x2 + i);
            c02 = w0.fma(v, c02);
            c12 = w1.fma(v, c12);
            v = FloatVector.fromArray(F, x, x3 + i);
            c03 = w0.fma(v, c03);
            c13 = w1.fma(v, c13);
        }
        out[o] = c00.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x0, i, k);
        out[o + 1] = c10.reduceLanes(VectorOperators.ADD) + tail(a, a1, x, x0, i, k);
        o += os;
        out[o] = c01.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x1, i, k);
        out[o + 1] = c11.reduceLanes(VectorOperators.ADD) + tail(a, a1, x, x1, i, k);
        o += os;
        out[o] = c02.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x2, i, k);
        out[o + 1] = c12.reduceLanes(VectorOperators.ADD) + tail(a, a1, x, x2, i, k);
        o += os;
        out[o] = c03.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x3, i, k);
        out[o + 1] = c13.reduceLanes(VectorOperators.ADD) + tail(a, a1, x, x3, i, k);
    }

    /** One weight row against four vectors (the rows left over after the 3-row tiles). */
    private static void block1x4(float[] a, int a0, int k, float[] x, int x0, float[] out, int o, int os) {
        int x1 = x0 + k;
        int x2 = x1 + k;
        int x3 = x2 + k;
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector c2 = FloatVector.zero(F);
        FloatVector c3 = FloatVector.zero(F);
        int bound = F.loopBound(k);
        int i = 0;
        for (; i < bound; i += L) {
            FloatVector w = FloatVector.fromArray(F, a, a0 + i);
            c0 = w.fma(FloatVector.fromArray(F, x, x0 + i), c0);
            c1 = w.fma(FloatVector.fromArray(F, x, x1 + i), c1);
            c2 = w.fma(FloatVector.fromArray(F, x, x2 + i), c2);
            c3 = w.fma(FloatVector.fromArray(F, x, x3 + i), c3);
        }
        out[o] = c0.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x0, i, k);
        out[o + os] = c1.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x1, i, k);
        out[o + 2 * os] = c2.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x2, i, k);
        out[o + 3 * os] = c3.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x3, i, k);
    }

    /** Two weight rows against one vector (the vectors left over after the 4-vector tiles). */
    private static void block2x1(float[] a, int a0, int k, float[] x, int x0, float[] out, int o) {
        int a1 = a0 + k;
        FloatVector c0 = FloatVector.zero(F);
        FloatVector c1 = FloatVector.zero(F);
        FloatVector d0 = FloatVector.zero(F);
        FloatVector d1 = FloatVector.zero(F);
        int bound = F.loopBound(k);
        int i = 0;
        // Two accumulators per row: one chain per row would wait on the FMA latency.
        for (; i + L < bound; i += 2 * L) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + i);
            FloatVector u = FloatVector.fromArray(F, x, x0 + i + L);
            c0 = FloatVector.fromArray(F, a, a0 + i).fma(v, c0);
            c1 = FloatVector.fromArray(F, a, a1 + i).fma(v, c1);
            d0 = FloatVector.fromArray(F, a, a0 + i + L).fma(u, d0);
            d1 = FloatVector.fromArray(F, a, a1 + i + L).fma(u, d1);
        }
        for (; i < bound; i += L) {
            FloatVector v = FloatVector.fromArray(F, x, x0 + i);
            c0 = FloatVector.fromArray(F, a, a0 + i).fma(v, c0);
            c1 = FloatVector.fromArray(F, a, a1 + i).fma(v, c1);
        }
        out[o] = c0.add(d0).reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x0, i, k);
        out[o + 1] = c1.add(d1).reduceLanes(VectorOperators.ADD) + tail(a, a1, x, x0, i, k);
    }

    /** The columns {@code [from, k)} past the last whole vector (only F32/F16/BF16 rows have them). */
    private static float tail(float[] a, int aOff, float[] x, int xOff, int from, int k) {
        float s = 0;
        for (int i = from; i < k; i++) {
            s += a[aOff + i] * x[xOff + i];
        }
        return s;
    }
}
