package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.ComputePool;
import io.kvcache.tensor.WeightMatrix;
import io.kvcache.tensor.internal.vector.GemmKernels;
import io.kvcache.tensor.internal.vector.PanelDequant;
import org.jspecify.annotations.Nullable;

/**
 * The batched product {@code out[i*rows + r] = row(r) . xs[i*cols ..]} behind
 * {@code Kernels.matmul}: each thread takes a contiguous range of rows, dequantizes them a panel
 * at a time into a per-thread float scratch (every type, once per call) and runs the whole batch
 * over the panel with register-blocked outer-product kernels ({@link GemmKernels}: 4 rows x 16
 * inputs, or 8 x 8 for the last inputs), so weights are read and dequantized once per batch
 * instead of once per vector. The inputs are packed for those kernels once per call, by the
 * calling thread, before the rows are split. F32 weights with a batch of one narrow tile (up to 8
 * inputs, e.g. concurrent decoding) skip the panel and are read in place
 * ({@link GemmKernels#f32InPlace}); see the README's Performance section for what that bought.
 *
 * <p>Steady state allocates nothing: the panel and packed-input scratch are per-thread arrays
 * grown on demand, and the pool task is a per-calling-thread object reused across calls.
 * Thread-safe; callers must not write {@code out} concurrently.
 */
public final class Gemm {
    /**
     * Rows per micro-tile of the vector kernel; thread ranges and panels are multiples of it so
     * that only the last rows of the matrix take the narrower edge tiles.
     */
    static final int ROW_GRAIN = 8;

    /**
     * Bytes of dequantized weights per panel: the panel stays in L2 (512 KB per core here) while
     * every input vector passes over it, next to the current vectors in L1.
     */
    static final int PANEL_BYTES = 128 * 1024;

    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[64]);
    /** Packed inputs of {@link #rows} (the products too small for the pool); the pool's are the task's. */
    private static final ThreadLocal<float[]> PACKED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<Task> TASKS = ThreadLocal.withInitial(Task::new);

    private Gemm() {
    }

    /** The pool body of one call; reused by the calling thread across calls. */
    private static final class Task implements ComputePool.RangeTask {
        @Nullable WeightMatrix w;
        float @Nullable [] xs;
        float @Nullable [] out;
        int n;
        /** The inputs packed for the kernels; owned by this task, grown on demand. */
        float[] packed = new float[0];

        @Override
        public void run(int from, int to) {
            WeightMatrix m = w;
            float[] x = xs;
            float[] o = out;
            if (m == null || x == null || o == null) {
                throw new IllegalStateException("matmul task ran without a product (a pool bug)");
            }
            rows(m, x, packed, n, o, from * ROW_GRAIN, Math.min(m.rows(), to * ROW_GRAIN));
        }
    }

    /**
     * The product split across {@code pool} by row ranges (in multiples of {@link #ROW_GRAIN}).
     * Arguments are not checked here: {@code Kernels.matmul} does.
     */
    public static void parallel(WeightMatrix w, float[] xs, int n, float[] out, ComputePool pool) {
        Task task = TASKS.get();
        if (task.w != null) {
            task = new Task(); // re-entered from inside a product on this thread: do not clobber the outer one
        }
        task.w = w;
        task.xs = xs;
        task.out = out;
        task.n = n;
        if (VectorSupport.ENABLED) {
            task.packed = pack(xs, n, w.cols(), task.packed);
        }
        try {
            pool.parallelFor((w.rows() + ROW_GRAIN - 1) / ROW_GRAIN, task);
        } finally {
            task.w = null; // do not keep the caller's arrays reachable
            task.xs = null;
            task.out = null;
        }
    }

    /**
     * Whether {@code n} separate matvecs beat the panel product: always for one vector (so that
     * {@code matmul} of one vector is exactly {@code matvec}); for F32 below 4 vectors without the
     * Vector API, where copying the panel costs more than reading the weights twice (with it, F32
     * batches up to 8 are read in place in one pass, which measured faster than separate matvecs
     * for 2 and 3 concurrent F32 decodes); and below 6 vectors when the matvecs are the integer kernels
     * on quantized activations ({@code integerMatvecs}). Measured with the outer-product panel kernels
     * on bench-110m, concurrent decodes (aggregate tokens/s, medians of three rounds): 4 sequences ran
     * 192 (Q8_0) and 184 (Q4_0) as integer matvecs against 141 and 143 as a panel product, 5 ran 142
     * and 171 against 125 and 163, 6 about even, 8 ran 191 and 191 against 235 and 245.
     */
    public static boolean prefersMatvecs(WeightMatrix w, int n, boolean integerMatvecs) {
        return n == 1 || (n < 4 && w.type() == GgmlType.F32 && !VectorSupport.ENABLED) || (n < 6 && integerMatvecs);
    }

    /** Rows per panel for rows of {@code cols} floats: a multiple of {@link #ROW_GRAIN}, at least one grain. */
    static int panelRows(int cols) {
        int rows = PANEL_BYTES / (4 * cols) / ROW_GRAIN * ROW_GRAIN;
        return Math.max(ROW_GRAIN, rows);
    }

    /** The product for rows {@code [from, to)} on the calling thread. */
    public static void rows(WeightMatrix w, float[] xs, int n, float[] out, int from, int to) {
        float[] packed = PACKED.get();
        if (VectorSupport.ENABLED) {
            packed = pack(xs, n, w.cols(), packed);
            PACKED.set(packed);
        }
        rows(w, xs, packed, n, out, from, to);
    }

    /** {@code xs} packed by {@link GemmKernels#pack} into {@code scratch}, or into a new array when it is too short. */
    private static float[] pack(float[] xs, int n, int cols, float[] scratch) {
        float[] packed = scratch;
        long needed = GemmKernels.packedLength(n, cols);
        if (packed.length < needed) {
            packed = new float[Math.toIntExact(needed)];
        }
        GemmKernels.pack(xs, n, cols, packed);
        return packed;
    }

    private static void rows(WeightMatrix w, float[] xs, float[] packed, int n, float[] out, int from, int to) {
        int rows = w.rows();
        int cols = w.cols();
        if (VectorSupport.ENABLED && n <= GemmKernels.NARROW && w.type() == GgmlType.F32 && w instanceof BlockMatrix m) {
            // One pass over the weights: no panel to fill (see GemmKernels.f32InPlace).
            GemmKernels.f32InPlace(m.data, m.rowOffset(from), m.rowBytes, to - from, cols, packed, n, out, rows, from,
                    TILE.get());
            return;
        }
        int panelRows = Math.min(panelRows(cols), to - from);
        float[] panel = PANEL.get();
        if (panel.length < panelRows * cols) {
            panel = new float[panelRows * cols];
            PANEL.set(panel);
        }
        for (int start = from; start < to; start += panelRows) {
            int end = Math.min(to, start + panelRows);
            dequantize(w, start, end, panel);
            if (VectorSupport.ENABLED) {
                GemmKernels.panel(panel, end - start, cols, packed, n, out, rows, start, TILE.get());
            } else {
                scalarPanel(panel, end - start, cols, xs, n, out, rows, start);
            }
        }
    }

    /**
     * Rows {@code [from, to)} of {@code w} as floats into {@code panel[0 ..)}: vectorized (from the
     * matrix's segment, bit-identical to {@code dequantizeRow}) for the matrices of this package,
     * {@code dequantizeRow} otherwise. The scalar dequantizers cost 0.5-1.5 ns per element, as
     * much as several matvecs for a batch of 8.
     */
    private static void dequantize(WeightMatrix w, int from, int to, float[] panel) {
        int cols = w.cols();
        if (VectorSupport.ENABLED && w instanceof BlockMatrix m) {
            long offset = m.rowOffset(from);
            for (int r = from, dst = 0; r < to; r++, dst += cols, offset += m.rowBytes) {
                switch (m.type()) {
                    case F32 -> PanelDequant.f32(m.data, offset, cols, panel, dst);
                    case F16 -> PanelDequant.f16(m.data, offset, cols, panel, dst);
                    case BF16 -> PanelDequant.bf16(m.data, offset, cols, panel, dst);
                    case Q8_0 -> PanelDequant.q8_0(m.data, offset, m.blocks, panel, dst);
                    case Q4_0 -> m.dequantizeRow(r, panel, dst); // vectorized, in its own (repacked) layout
                    case Q4_1 -> PanelDequant.q4_1(m.data, offset, m.blocks, panel, dst);
                    case Q4_K -> PanelDequant.q4_k(m.data, offset, m.blocks, panel, dst);
                    case Q5_K -> PanelDequant.q5_k(m.data, offset, m.blocks, panel, dst);
                    case Q6_K -> PanelDequant.q6_k(m.data, offset, m.blocks, panel, dst);
                    default -> m.dequantizeRow(r, panel, dst); // Q5_0, Q5_1: rare in practice, scalar
                }
            }
            return;
        }
        for (int r = from; r < to; r++) {
            w.dequantizeRow(r, panel, (r - from) * cols);
        }
    }

    /** The scalar counterpart of {@link GemmKernels#panel}, for JVMs without the Vector API. */
    static void scalarPanel(float[] a, int aRows, int k, float[] xs, int n, float[] out, int outStride, int outRow) {
        for (int t = 0; t < n; t++) {
            int x0 = t * k;
            int o = t * outStride + outRow;
            for (int r = 0; r < aRows; r++) {
                int a0 = r * k;
                float s = 0;
                for (int i = 0; i < k; i++) {
                    s += a[a0 + i] * xs[x0 + i];
                }
                out[o + r] = s;
            }
        }
    }
}
