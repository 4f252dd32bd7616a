package io.kvcache.bench.jmh;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.ComputePool;
import io.kvcache.tensor.Kernels;
import io.kvcache.tensor.WeightMatrix;
import io.kvcache.tensor.internal.BlockMatrix;
import io.kvcache.tensor.internal.QuantizedActivations;
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
 * A weight matrix times a vector ({@code batch = 1}, what decoding does) or times a batch of
 * vectors (prompt processing), per GGML type and shape {@code ROWSxCOLS}. The weights live off-heap
 * like a memory-mapped model. Divide the matrix's bytes by the time per operation for the
 * bandwidth a kernel reaches.
 *
 * <p>A JMH state object: JMH drives it from one benchmark thread (not thread-safe otherwise).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR, JvmFlags.NATIVE})
public class MatvecBenchmark {
    @Param({"F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    public String type;

    /** Rows x columns: 768x768 is an attention projection of a 110M model, 2048x5632 the FFN down projection of a 1B one. */
    @Param({"768x768", "2048x5632"})
    public String shape;

    @Param({"1"})
    public int threads;

    @Param({"1"})
    public int batch;

    /**
     * {@code current}: {@link Kernels#matvec} / {@link Kernels#matmul} as they are (Q8_0 and Q4_0
     * quantize the activation by default); {@code float}: the same with F32 activations (the float
     * kernels, what {@code EngineOptions.withQuantizedActivations(false)} runs);
     * {@code baseline}: the matvec before issue #7's work (a capturing lambda per call, one row at a
     * time, Q8_0 and Q4_0 through the old kernels in {@link BaselineKernels}, other types through
     * {@link WeightMatrix#dot}), kept to measure old against new in the same run; {@code int8}: the
     * integer kernels on the activation quantized to Q8_0 (Q8_0 and Q4_0 only; what
     * {@code Kernels.matvec} runs for them by default), quantization included; {@code int8old}: the same with the first integer kernels, kept in
     * {@link BaselineInt8Kernels} to measure them against the current ones in the same run. Batch 1 only.
     */
    @Param({"current"})
    public String path;

    private WeightMatrix matrix;
    private MemorySegment data;
    private float[] x;
    private float[] out;
    private ComputePool pool;
    private Arena arena;
    private final QuantizedActivations activations = new QuantizedActivations();

    @Setup(Level.Trial)
    public void setUp() {
        GgmlType t = GgmlType.valueOf(type);
        String[] dims = shape.split("x");
        int rows = Integer.parseInt(dims[0]);
        int cols = Integer.parseInt(dims[1]);
        Random random = new Random(7);
        arena = Arena.ofShared();
        data = random.weights(t, rows, cols, arena);
        matrix = WeightMatrix.of(t, data, rows, cols);
        x = random.gaussian(batch * cols, 1);
        out = new float[batch * rows];
        pool = ComputePool.create(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
        arena.close();
    }

    @Benchmark
    public float[] product() {
        if (batch == 1 && path.equals("baseline")) {
            baseline(matrix, data, x, out, pool);
        } else if (batch == 1 && path.equals("int8")) {
            BlockMatrix block = (BlockMatrix) matrix;
            activations.quantize(x, 0, block.cols(), block.type() == GgmlType.Q4_0);
            pool.parallelFor(block.rows(), (from, to) -> block.dotRowsQuantized(from, to - from, activations, out, from));
        } else if (batch == 1 && path.equals("int8old")) {
            int8old();
        } else if (batch == 1 && path.equals("float")) {
            Kernels.matvec(matrix, x, 0, out, 0, pool, false);
        } else if (batch == 1) {
            Kernels.matvec(matrix, x, 0, out, 0, pool);
        } else {
            Kernels.matmul(matrix, x, batch, out, pool);
        }
        return out;
    }

    private void int8old() {
        BlockMatrix block = (BlockMatrix) matrix;
        activations.quantize(x, 0, block.cols(), false); // the first kernels did not use the Q4_0 terms
        long rowBytes = block.type().byteSize(block.cols());
        int blocks = block.cols() / 32;
        short[] xq = activations.quants();
        float[] xd = activations.scales();
        pool.parallelFor(block.rows(), (from, to) -> {
            if (block.type() == GgmlType.Q8_0) {
                BaselineInt8Kernels.q8_0(data, from * rowBytes, rowBytes, to - from, blocks, xq, xd, out, from);
            } else {
                BaselineInt8Kernels.q4_0(data, from * rowBytes, rowBytes, to - from, blocks, xq, xd, out, from);
            }
        });
    }

    private static void baseline(WeightMatrix w, MemorySegment data, float[] x, float[] out, ComputePool pool) {
        long rowBytes = w.type().byteSize(w.cols());
        int blocks = w.cols() / 32;
        pool.parallelFor(w.rows(), (from, to) -> {
            for (int r = from; r < to; r++) {
                out[r] = switch (w.type()) {
                    case Q8_0 -> BaselineKernels.q8_0(data, r * rowBytes, blocks, x, 0);
                    case Q4_0 -> BaselineKernels.q4_0(data, r * rowBytes, blocks, x, 0);
                    default -> w.dot(r, x, 0);
                };
            }
        });
    }
}
