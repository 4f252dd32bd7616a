package io.kvcache.bench.jmh;

import io.kvcache.tensor.internal.vector.GemmKernels;
import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The float kernel of the batched product alone, on one thread: a 768-row matrix as {@code Gemm}
 * runs it, one dequantized weight panel at a time (128 KiB of rows of {@code k} floats; the same
 * panel here, so that dequantization is left out) times {@code n} input vectors.
 * {@code variant=outer}: {@code GemmKernels} (the inputs packed once per product, then 4 x 16 and
 * 8 x 8 outer-product tiles); {@code variant=dot2x4}: the 2-row x 4-vector dot-product kernel it
 * replaced (as of commit 9773aed, copied here); {@code variant=pack}: the packing alone. So the
 * kernels are compared in one run: GFLOP/s = {@code 2 * 768 * k * n / time}.
 *
 * <p>A JMH state object: JMH drives it from one benchmark thread (not thread-safe otherwise).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR})
public class GemmKernelBenchmark {
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;

    @Param({"768", "2048"})
    public int k;

    @Param({"8", "128"})
    public int n;

    @Param({"outer", "dot2x4", "pack"})
    public String variant;

    private int rows;
    private int panels;
    private float[] panel;
    private float[] xs;
    private float[] packed;
    private float[] out;
    private final float[] tile = new float[64];

    @Setup(Level.Trial)
    public void setUp() {
        rows = 128 * 1024 / 4 / k / 8 * 8;
        panels = 768 / rows;
        Random random = new Random(11);
        panel = random.gaussian(rows * k, 1);
        xs = random.gaussian(n * k, 1);
        packed = new float[(int) GemmKernels.packedLength(n, k)];
        out = new float[n * rows];
    }

    @Benchmark
    public float[] panelProduct() {
        if (variant.equals("dot2x4")) {
            for (int p = 0; p < panels; p++) {
                DotProduct2x4.panel(panel, rows, k, xs, n, out, rows, 0);
            }
            return out;
        }
        GemmKernels.pack(xs, n, k, packed);
        if (variant.equals("pack")) {
            return packed;
        }
        for (int p = 0; p < panels; p++) {
            GemmKernels.panel(panel, rows, k, packed, n, out, rows, 0, tile);
        }
        return out;
    }

    /** The previous kernel, as it was. */
    static final class DotProduct2x4 {
        private DotProduct2x4() {
        }

        static void panel(float[] a, int aRows, int k, float[] xs, int n, float[] out, int outStride, int outRow) {
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                int o = t * outStride + outRow;
                int r = 0;
                for (; r + 2 <= aRows; r += 2) {
                    block2x4(a, r * k, k, xs, t * k, out, o + r, outStride);
                }
                for (; r < aRows; r++) {
                    block1x4(a, r * k, k, xs, t * k, out, o + r, outStride);
                }
            }
            for (; t < n; t++) {
                int o = t * outStride + outRow;
                int r = 0;
                for (; r + 2 <= aRows; r += 2) {
                    block2x1(a, r * k, k, xs, t * k, out, o + r);
                }
                for (; r < aRows; r++) {
                    out[o + r] = dot(a, r * k, xs, t * k, k);
                }
            }
        }

        private static void block2x4(float[] a, int a0, int k, float[] x, int x0, float[] out, int o, int os) {
            int a1 = a0 + k;
            int x1 = x0 + k;
            int x2 = x1 + k;
            int x3 = x2 + k;
            FloatVector c00 = FloatVector.zero(F8);
            FloatVector c01 = FloatVector.zero(F8);
            FloatVector c02 = FloatVector.zero(F8);
            FloatVector c03 = FloatVector.zero(F8);
            FloatVector c10 = FloatVector.zero(F8);
            FloatVector c11 = FloatVector.zero(F8);
            FloatVector c12 = FloatVector.zero(F8);
            FloatVector c13 = FloatVector.zero(F8);
            int bound = F8.loopBound(k);
            int i = 0;
            for (; i < bound; i += 8) {
                FloatVector w0 = FloatVector.fromArray(F8, a, a0 + i);
                FloatVector w1 = FloatVector.fromArray(F8, a, a1 + i);
                FloatVector v = FloatVector.fromArray(F8, x, x0 + i);
                c00 = w0.fma(v, c00);
                c10 = w1.fma(v, c10);
                v = FloatVector.fromArray(F8, x, x1 + i);
                c01 = w0.fma(v, c01);
                c11 = w1.fma(v, c11);
                v = FloatVector.fromArray(F8, x, x2 + i);
                c02 = w0.fma(v, c02);
                c12 = w1.fma(v, c12);
                v = FloatVector.fromArray(F8, x, x3 + i);
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
            FloatVector c0 = FloatVector.zero(F8);
            FloatVector c1 = FloatVector.zero(F8);
            FloatVector c2 = FloatVector.zero(F8);
            FloatVector c3 = FloatVector.zero(F8);
            int bound = F8.loopBound(k);
            int i = 0;
            for (; i < bound; i += 8) {
                FloatVector w = FloatVector.fromArray(F8, a, a0 + i);
                c0 = w.fma(FloatVector.fromArray(F8, x, x0 + i), c0);
                c1 = w.fma(FloatVector.fromArray(F8, x, x1 + i), c1);
                c2 = w.fma(FloatVector.fromArray(F8, x, x2 + i), c2);
                c3 = w.fma(FloatVector.fromArray(F8, x, x3 + i), c3);
            }
            out[o] = c0.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x0, i, k);
            out[o + os] = c1.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x1, i, k);
            out[o + 2 * os] = c2.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x2, i, k);
            out[o + 3 * os] = c3.reduceLanes(VectorOperators.ADD) + tail(a, a0, x, x3, i, k);
        }

        /** Two weight rows against one vector (the vectors left over after the 4-vector tiles). */
        private static void block2x1(float[] a, int a0, int k, float[] x, int x0, float[] out, int o) {
            int a1 = a0 + k;
            FloatVector c0 = FloatVector.zero(F8);
            FloatVector c1 = FloatVector.zero(F8);
            FloatVector d0 = FloatVector.zero(F8);
            FloatVector d1 = FloatVector.zero(F8);
            int bound = F8.loopBound(k);
            int i = 0;
            // Two accumulators per row: one chain per row would wait on the FMA latency.
            for (; i + 8 < bound; i += 2 * 8) {
                FloatVector v = FloatVector.fromArray(F8, x, x0 + i);
                FloatVector u = FloatVector.fromArray(F8, x, x0 + i + 8);
                c0 = FloatVector.fromArray(F8, a, a0 + i).fma(v, c0);
                c1 = FloatVector.fromArray(F8, a, a1 + i).fma(v, c1);
                d0 = FloatVector.fromArray(F8, a, a0 + i + 8).fma(u, d0);
                d1 = FloatVector.fromArray(F8, a, a1 + i + 8).fma(u, d1);
            }
            for (; i < bound; i += 8) {
                FloatVector v = FloatVector.fromArray(F8, x, x0 + i);
                c0 = FloatVector.fromArray(F8, a, a0 + i).fma(v, c0);
                c1 = FloatVector.fromArray(F8, a, a1 + i).fma(v, c1);
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

        private static float dot(float[] a, int aOff, float[] x, int xOff, int k) {
            FloatVector acc = FloatVector.zero(F8);
            int i = 0;
            for (int bound = F8.loopBound(k); i < bound; i += 8) {
                acc = FloatVector.fromArray(F8, a, aOff + i).fma(FloatVector.fromArray(F8, x, xOff + i), acc);
            }
            return acc.reduceLanes(VectorOperators.ADD) + tail(a, aOff, x, xOff, i, k);
        }
    }
}
