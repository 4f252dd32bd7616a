package io.kvcache.bench.jmh;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.ComputePool;
import io.kvcache.tensor.Kernels;
import io.kvcache.tensor.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A weight matrix times a batch of {@code n} vectors ({@code Kernels.matmul}: prompt processing
 * and batched decoding), per GGML type and shape {@code ROWSxCOLS} (the projections of a 110M
 * Llama: 768x768 attention, 2048x768 FFN up/gate, 768x2048 FFN down, 32000x768 output).
 * {@code variant=baseline} runs the row-tiled product that {@code Kernels.matmul} used before
 * the register-blocked one (copied here), so the two are compared in one run:
 * GFLOP/s = {@code 2 * rows * cols * n / time}.
 *
 * <p>A JMH state object: JMH drives it from one benchmark thread (not thread-safe otherwise).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR, JvmFlags.NATIVE})
public class MatmulBenchmark {
    @Param({"F32", "Q8_0", "Q4_0"})
    public String type;

    @Param({"768x768", "2048x768", "768x2048", "32000x768"})
    public String shape;

    @Param({"8", "128", "512"})
    public int n;

    @Param({"2"})
    public int threads;

    /**
     * {@code gemm}: {@code Kernels.matmul}; {@code baseline}: the previous row-tiled product;
     * {@code matvecs}: {@code n} separate {@code Kernels.matvec} calls (what a batch must beat).
     */
    @Param({"gemm", "baseline"})
    public String variant;

    private WeightMatrix matrix;
    private float[] xs;
    private float[] out;
    private ComputePool pool;
    private Arena arena;

    @Setup(Level.Trial)
    public void setUp() {
        GgmlType t = GgmlType.valueOf(type);
        String[] dims = shape.split("x");
        int rows = Integer.parseInt(dims[0]);
        int cols = Integer.parseInt(dims[1]);
        Random random = new Random(7);
        arena = Arena.ofShared();
        MemorySegment data = random.weights(t, rows, cols, arena);
        matrix = WeightMatrix.of(t, data, rows, cols);
        xs = random.gaussian(n * cols, 1);
        out = new float[n * rows];
        pool = ComputePool.create(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float[] product() {
        if (variant.equals("baseline")) {
            Baseline.matmul(matrix, xs, n, out, pool);
        } else if (variant.equals("matvecs")) {
            int cols = matrix.cols();
            int rows = matrix.rows();
            for (int i = 0; i < n; i++) {
                Kernels.matvec(matrix, xs, i * cols, out, i * rows, pool);
            }
        } else {
            Kernels.matmul(matrix, xs, n, out, pool);
        }
        return out;
    }

    /** {@code Kernels.matmul} before the register-blocked kernel (commit 93e6969), for comparison. */
    static final class Baseline {
        private static final int MATMUL_TILE_ROWS = 4;
        private static final int DEQUANTIZE_ONCE_MIN_BATCH = 4;
        private static final long MIN_PARALLEL_ELEMENTS = 16_384;

        private Baseline() {
        }

        static void matmul(WeightMatrix w, float[] xs, int n, float[] out, ComputePool pool) {
            int rows = w.rows();
            int cols = w.cols();
            if ((long) rows * cols * n < MIN_PARALLEL_ELEMENTS) {
                matmulRows(w, xs, n, out, 0, rows);
                return;
            }
            pool.parallelFor(rows, (from, to) -> matmulRows(w, xs, n, out, from, to));
        }

        private static boolean dequantizeOnce(WeightMatrix w, int n) {
            return n >= DEQUANTIZE_ONCE_MIN_BATCH && switch (w.type()) {
                case F16, Q4_1, Q4_K, Q5_K, Q6_K -> true;
                default -> false;
            };
        }

        private static void matmulRows(WeightMatrix w, float[] xs, int n, float[] out, int from, int to) {
            int rows = w.rows();
            int cols = w.cols();
            if (dequantizeOnce(w, n)) {
                float[] tile = new float[MATMUL_TILE_ROWS * cols];
                for (int start = from; start < to; start += MATMUL_TILE_ROWS) {
                    int tileEnd = Math.min(to, start + MATMUL_TILE_ROWS);
                    for (int r = start; r < tileEnd; r++) {
                        w.dequantizeRow(r, tile, (r - start) * cols);
                    }
                    for (int i = 0; i < n; i++) {
                        int xOff = i * cols;
                        int outOff = i * rows;
                        for (int r = start; r < tileEnd; r++) {
                            out[outOff + r] = Kernels.dot(tile, (r - start) * cols, xs, xOff, cols);
                        }
                    }
                }
                return;
            }
            for (int tile = from; tile < to; tile += MATMUL_TILE_ROWS) {
                int tileEnd = Math.min(to, tile + MATMUL_TILE_ROWS);
                for (int i = 0; i < n; i++) {
                    int xOff = i * cols;
                    int outOff = i * rows;
                    for (int r = tile; r < tileEnd; r++) {
                        out[outOff + r] = w.dot(r, xs, xOff);
                    }
                }
            }
        }
    }
}
