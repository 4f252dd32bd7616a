package io.kvcache.tensor;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.BlockMatrix;
import io.kvcache.tensor.internal.Expf;
import io.kvcache.tensor.internal.Gemm;
import io.kvcache.tensor.internal.QuantizedActivations;
import io.kvcache.tensor.internal.VectorSupport;
import io.kvcache.tensor.internal.vector.FloatDots;
import io.kvcache.tensor.internal.vector.SwiGlu;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

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

    /**
     * Whether products with Q8_0 and Q4_0 weights first quantize the activation to Q8_0 per
     * block of 32, as llama.cpp does for these types: {@link #matvec} then multiplies in integers
     * ({@link BlockMatrix#dotRowsQuantized}, 1.2x faster per core on AVX2 than widening every
     * weight to a float) and {@link #matmul} multiplies the same rounded activations as floats
     * ({@link QuantizedActivations#roundTrip}), so one decode step and a batched recompute agree
     * to float rounding, and both match llama.cpp's logits for these models closely instead of
     * only in their top choices. On by default; {@code -Dkvcache.quantizeActivations=false}
     * multiplies unrounded F32 activations instead (slightly more precise, slower, and further
     * from llama.cpp). Tests flip the field directly.
     */
    static boolean quantizeActivations =
            Boolean.parseBoolean(System.getProperty("kvcache.quantizeActivations", "true"));

    /** Whether the overloads without a {@code quantizeActivations} argument quantize (see the field). */
    public static boolean quantizesActivationsByDefault() {
        return quantizeActivations;
    }

    /** Rounded batch inputs of {@link #matmul}, per calling thread; grown on demand. */
    private static final ThreadLocal<float[]> ROUNDED_INPUTS = ThreadLocal.withInitial(() -> new float[0]);

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
     * The gated feed-forward activation {@code gate[i] = silu(gate[i]) * up[i]} for {@code i < n},
     * with {@code silu(x) = x / (1 + exp(-x))} and exp computed as llama.cpp's {@code ggml_v_expf}
     * (a polynomial within about 1.5 ulp; the same value whether vectorized or not).
     *
     * @throws IndexOutOfBoundsException when an array holds fewer than {@code n} floats
     */
    public static void swiglu(float[] gate, float[] up, int n) {
        Objects.checkFromIndexSize(0, n, gate.length);
        Objects.checkFromIndexSize(0, n, up.length);
        if (VectorSupport.ENABLED) {
            SwiGlu.apply(gate, up, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            gate[i] = Expf.siluTimes(gate[i], up[i]);
        }
    }

    /**
     * {@code out[outOff + r] = w.dot(r, x, xOff)} for every row {@code r}: the decode kernel.
     *
     * <p>The rows are split into one contiguous range per pool thread (each thread streams its
     * own part of the matrix); within a range the matrix's range kernel
     * ({@link BlockMatrix#dotRows}, or {@link BlockMatrix#dotRowsQuantized} when
     * {@code quantizeActivations} is on) runs. Allocates nothing in steady state: the loop body handed
     * to the pool is a per-calling-thread {@link MatvecTask} whose fields are set for the call
     * and cleared after it (so no matrix or array stays reachable from it), and the pool reuses
     * its loop state (see {@link ComputePool}).
     *
     * @throws IndexOutOfBoundsException when {@code x} or {@code out} is too short
     */
    public static void matvec(WeightMatrix w, float[] x, int xOff, float[] out, int outOff, ComputePool pool) {
        matvec(w, x, xOff, out, outOff, pool, quantizeActivations);
    }

    /**
     * {@link #matvec(WeightMatrix, float[], int, float[], int, ComputePool)} with an explicit choice
     * of whether Q8_0 and Q4_0 weights meet the activation quantized to Q8_0 (other types ignore it).
     */
    public static void matvec(WeightMatrix w, float[] x, int xOff, float[] out, int outOff, ComputePool pool,
                              boolean quantizeActivations) {
        int rows = w.rows();
        Objects.checkFromIndexSize(xOff, w.cols(), x.length);
        Objects.checkFromIndexSize(outOff, rows, out.length);
        MatvecTask task = MatvecTask.TASKS.get();
        if (task.w != null) {
            task = new MatvecTask(); // re-entered on this thread (from a body); never in practice
        }
        task.w = w;
        task.x = x;
        task.xOff = xOff;
        task.out = out;
        task.outOff = outOff;
        task.quantized = quantizeActivations && quantizesActivations(w);
        try {
            if (task.quantized) {
                // Once, shared by all threads' rows; the Q4_0 terms only for Q4_0 weights.
                task.activations.quantize(x, xOff, w.cols(), w.type() == GgmlType.Q4_0);
            }
            forRows(w, pool, task);
        } finally {
            task.w = null;
            task.x = null;
            task.out = null;
        }
    }

    /** {@code task} over every row of {@code w}: on the pool, or on the caller for a product too small to wake it. */
    private static void forRows(WeightMatrix w, ComputePool pool, ComputePool.RangeTask task) {
        if ((long) w.rows() * w.cols() < MIN_PARALLEL_ELEMENTS) {
            task.run(0, w.rows());
        } else {
            pool.parallelFor(w.rows(), task);
        }
    }

    private static boolean quantizesActivations(WeightMatrix w) {
        return w instanceof BlockMatrix block && block.quantizesActivations();
    }

    /**
     * The body of one {@link #matvec} on the pool: mutable fields instead of a capturing lambda,
     * one instance per calling thread (with its activation scratch), so dispatching a product
     * allocates nothing. Written by its calling thread before {@code parallelFor} and read by the
     * workers after the pool's hand-off, which orders the two.
     */
    private static final class MatvecTask implements ComputePool.RangeTask {
        static final ThreadLocal<MatvecTask> TASKS = ThreadLocal.withInitial(MatvecTask::new);

        final QuantizedActivations activations = new QuantizedActivations();
        @Nullable WeightMatrix w;
        float @Nullable [] x;
        int xOff;
        float @Nullable [] out;
        int outOff;
        boolean quantized;

        @Override
        public void run(int from, int to) {
            WeightMatrix matrix = Objects.requireNonNull(w);
            float[] result = Objects.requireNonNull(out);
            if (quantized) {
                ((BlockMatrix) matrix).dotRowsQuantized(from, to - from, activations, result, outOff + from);
            } else if (matrix instanceof BlockMatrix block) {
                block.dotRows(from, to - from, Objects.requireNonNull(x), xOff, result, outOff + from);
            } else {
                float[] input = Objects.requireNonNull(x);
                for (int r = from; r < to; r++) {
                    result[outOff + r] = matrix.dot(r, input, xOff);
                }
            }
        }
    }

    /**
     * Batched product: {@code xs} holds {@code n} input vectors of {@code w.cols()} floats (vector
     * {@code i} at {@code i * cols}); {@code out} receives {@code n} vectors of {@code w.rows()}
     * floats (vector {@code i} at {@code i * rows}). Each thread takes a contiguous range of rows,
     * dequantizes it a panel at a time (once per call, whatever the type) and runs the whole batch
     * over the panel with a register-blocked kernel, so the weights are read and dequantized once
     * per batch. {@code n == 1} is exactly {@link #matvec} (as are batches below 6 vectors with
     * quantized activations, which then run the integer matvec kernels, and, without the Vector API,
     * F32 batches below 4 vectors, where separate matvecs measure faster). F32 batches of up to 8
     * vectors read the weights in place instead of through a panel. For Q8_0 and Q4_0 weights the inputs are first rounded to
     * Q8_0 (see {@link #quantizeActivations}) into a per-thread scratch; {@code xs} is not modified.
     * Allocates nothing in steady state.
     *
     * @throws IllegalArgumentException when {@code n < 0}
     * @throws IndexOutOfBoundsException when {@code xs} or {@code out} is too short
     */
    public static void matmul(WeightMatrix w, float[] xs, int n, float[] out, ComputePool pool) {
        matmul(w, xs, n, out, pool, quantizeActivations);
    }

    /**
     * {@link #matmul(WeightMatrix, float[], int, float[], ComputePool)} with an explicit choice of
     * whether Q8_0 and Q4_0 weights meet the inputs rounded to Q8_0 (other types ignore it).
     */
    public static void matmul(WeightMatrix w, float[] xs, int n, float[] out, ComputePool pool,
                              boolean quantizeActivations) {
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
        boolean rounded = quantizeActivations && quantizesActivations(w);
        if (n > 1 && rounded && Gemm.prefersMatvecs(w, n, true)) {
            integerMatvecs((BlockMatrix) w, xs, n, out, pool);
            return;
        }
        if (Gemm.prefersMatvecs(w, n, rounded)) {
            for (int i = 0; i < n; i++) {
                matvec(w, xs, i * cols, out, i * rows, pool, quantizeActivations);
            }
            return;
        }
        float[] inputs = xs;
        if (rounded) {
            inputs = ROUNDED_INPUTS.get();
            if (inputs.length < n * cols) {
                inputs = new float[n * cols];
                ROUNDED_INPUTS.set(inputs);
            }
            QuantizedActivations.roundTrip(xs, 0, n * cols, inputs, 0);
        }
        if ((long) rows * cols * n < MIN_PARALLEL_ELEMENTS) {
            Gemm.rows(w, inputs, n, out, 0, rows);
            return;
        }
        Gemm.parallel(w, inputs, n, out, pool);
    }

    /**
     * The integer matvecs of a small batch in one loop over the rows: every input quantized once,
     * then each thread runs its rows against the inputs two at a time
     * ({@link BlockMatrix#dotRowsQuantized(int, int, QuantizedActivations, float[], int,
     * QuantizedActivations, float[], int)}, which widens each Q8_0 weight once for both).
     * Bit-identical to {@code n} separate {@link #matvec} calls.
     */
    private static void integerMatvecs(BlockMatrix w, float[] xs, int n, float[] out, ComputePool pool) {
        BatchTask task = BatchTask.TASKS.get();
        if (task.w != null) {
            task = new BatchTask(); // re-entered on this thread (from a body); never in practice
        }
        task.reserve(n);
        boolean q4_0Terms = w.type() == GgmlType.Q4_0;
        for (int i = 0; i < n; i++) {
            task.activations[i].quantize(xs, i * w.cols(), w.cols(), q4_0Terms);
        }
        task.w = w;
        task.n = n;
        task.out = out;
        try {
            forRows(w, pool, task);
        } finally {
            task.w = null;
            task.out = null;
        }
    }

    /** The body of {@link #integerMatvecs}, one per calling thread like {@link MatvecTask}. */
    private static final class BatchTask implements ComputePool.RangeTask {
        static final ThreadLocal<BatchTask> TASKS = ThreadLocal.withInitial(BatchTask::new);

        QuantizedActivations[] activations = new QuantizedActivations[0];
        @Nullable BlockMatrix w;
        int n;
        float @Nullable [] out;

        void reserve(int count) {
            if (activations.length < count) {
                QuantizedActivations[] grown = Arrays.copyOf(activations, count);
                for (int i = activations.length; i < count; i++) {
                    grown[i] = new QuantizedActivations();
                }
                activations = grown;
            }
        }

        @Override
        public void run(int from, int to) {
            BlockMatrix matrix = Objects.requireNonNull(w);
            float[] result = Objects.requireNonNull(out);
            int rows = matrix.rows();
            int i = 0;
            for (; i + 2 <= n; i += 2) {
                matrix.dotRowsQuantized(from, to - from, activations[i], result, i * rows + from,
                        activations[i + 1], result, (i + 1) * rows + from);
            }
            if (i < n) {
                matrix.dotRowsQuantized(from, to - from, activations[i], result, i * rows + from);
            }
        }
    }
}
