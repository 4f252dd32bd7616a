package io.kvcache.tensor;

import io.kvcache.tensor.internal.Gemm;
import io.kvcache.tensor.internal.VectorSupport;
import io.kvcache.tensor.internal.vector.FloatDots;
import java.util.Objects;

/**
 * Matrix products over {@link WeightMatrix} rows, split by rows across a {@link ComputePool}.
 * Stateless and thread-safe; the output arrays must not be written concurrently by the caller.
 */
public final class Kernels {
    /**
     * Below this many weight elements a product runs on the caller alone: waking the pool costs
     * more than the work.
     */
    static final long MIN_PARALLEL_ELEMENTS = 16_384;

    private Kernels() {
    }

    /**
     * {@code a[aOff .. aOff + n) . b[bOff .. bOff + n)}, vectorized when the Vector API is on
     * (attention scores, small products).
     *
     * @throws IndexOutOfBoundsException when a range is out of bounds
     */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        Objects.checkFromIndexSize(aOff, n, a.length);
        Objects.checkFromIndexSize(bOff, n, b.length);
        if (VectorSupport.ENABLED) {
            return FloatDots.arrays(a, aOff, b, bOff, n);
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    /**
     * {@code out[outOff + r] = w.dot(r, x, xOff)} for every row {@code r}.
     *
     * @throws IndexOutOfBoundsException when {@code x} or {@code out} is too short
     */
    public static void matvec(WeightMatrix w, float[] x, int xOff, float[] out, int outOff, ComputePool pool) {
        int rows = w.rows();
        Objects.checkFromIndexSize(xOff, w.cols(), x.length);
        Objects.checkFromIndexSize(outOff, rows, out.length);
        if ((long) rows * w.cols() < MIN_PARALLEL_ELEMENTS) {
            for (int r = 0; r < rows; r++) {
                out[outOff + r] = w.dot(r, x, xOff);
            }
            return;
        }
        pool.parallelFor(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                out[outOff + r] = w.dot(r, x, xOff);
            }
        });
    }

    /**
     * Batched product: {@code xs} holds {@code n} input vectors of {@code w.cols()} floats (vector
     * {@code i} at {@code i * cols}); {@code out} receives {@code n} vectors of {@code w.rows()}
     * floats (vector {@code i} at {@code i * rows}). Each thread takes a contiguous range of rows,
     * dequantizes it a panel at a time (once per call, whatever the type) and runs the whole batch
     * over the panel with a register-blocked kernel, so the weights are read and dequantized once
     * per batch. {@code n == 1} is exactly {@link #matvec} (as are F32 batches below 4 vectors, where
     * separate matvecs measure faster). Allocates nothing in steady state.
     *
     * @throws IllegalArgumentException when {@code n < 0}
     * @throws IndexOutOfBoundsException when {@code xs} or {@code out} is too short
     */
    public static void matmul(WeightMatrix w, float[] xs, int n, float[] out, ComputePool pool) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0, got " + n);
        }
        int rows = w.rows();
        int cols = w.cols();
        Objects.checkFromIndexSize(0, (long) n * cols, xs.length);
        Objects.checkFromIndexSize(0, (long) n * rows, out.length);
        if (n == 0) {
            return;
        }
        if (Gemm.prefersMatvecs(w, n)) {
            for (int i = 0; i < n; i++) {
                matvec(w, xs, i * cols, out, i * rows, pool);
            }
            return;
        }
        if ((long) rows * cols * n < MIN_PARALLEL_ELEMENTS) {
            Gemm.rows(w, xs, n, out, 0, rows);
            return;
        }
        Gemm.parallel(w, xs, n, out, pool);
    }
}
