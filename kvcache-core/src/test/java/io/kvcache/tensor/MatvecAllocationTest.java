package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Decoding must allocate nothing per token: {@link Kernels#matvec} and
 * {@link ComputePool#parallelFor} allocate nothing in steady state, on the calling thread and on
 * the pool's workers. Allocation is measured with the per-thread allocation counter of HotSpot.
 * Until C2 compiles the kernels, the interpreter boxes every vector, so each case warms up until
 * a batch of calls allocates (almost) nothing, and fails if that never happens within the time
 * limit.
 */
class MatvecAllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final int CALLS = 2_000;
    /** Bytes a batch of {@value #CALLS} calls may allocate: the allocation counter itself costs a few. */
    private static final long TOLERANCE = 4_096;
    private static final long WARM_UP_NANOS = Long.getLong("kvcache.test.warmUpSeconds", 60) * 1_000_000_000L;

    private static long workerBytes() {
        long[] ids = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("kvcache-compute-"))
                .mapToLong(Thread::threadId)
                .toArray();
        return Arrays.stream(THREADS.getThreadAllocatedBytes(ids)).filter(b -> b > 0).sum();
    }

    /** Bytes allocated by {@code calls} runs of {@code action} on this thread and on the pool's workers. */
    private static long[] measure(Runnable action) {
        long workers = workerBytes();
        long before = THREADS.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < CALLS; i++) {
            action.run();
        }
        long caller = THREADS.getCurrentThreadAllocatedBytes() - before;
        return new long[] {caller, workerBytes() - workers};
    }

    private static void assertAllocatesNothing(Runnable action, String what) {
        assertTrue(THREADS.isThreadAllocatedMemorySupported() && THREADS.isThreadAllocatedMemoryEnabled(),
                "this JVM cannot count allocated bytes per thread");
        long deadline = System.nanoTime() + WARM_UP_NANOS;
        long[] bytes;
        do {
            bytes = measure(action);
        } while ((bytes[0] > TOLERANCE || bytes[1] > TOLERANCE) && System.nanoTime() < deadline);
        if (bytes[0] > TOLERANCE) {
            throw new AssertionError(what + ": " + CALLS + " calls allocated " + bytes[0] + " bytes on the caller, at"
                    + AllocationSites.of(action, CALLS));
        }
        assertTrue(bytes[1] <= TOLERANCE, what + ": " + CALLS + " calls allocated " + bytes[1] + " bytes on the workers");
    }

    @ParameterizedTest(name = "{0} {1}x{2} on {3} threads, quantized activations {4}")
    @CsvSource({
        "Q8_0, 256, 256, 2, false", // above the parallel threshold: the pool path
        "Q4_0, 67, 512, 2, false",  // odd row count, split across the threads
        "F32, 300, 128, 2, false",
        "Q6_K, 64, 512, 2, false",
        "Q8_0, 256, 256, 1, false", // one thread: inline in the pool
        "Q8_0, 5, 64, 2, false",    // below the parallel threshold: on the caller alone
        "Q8_0, 256, 256, 2, true",  // the integer kernels and their activation scratch
        "Q4_0, 67, 512, 2, true",
        "Q4_0, 5, 64, 1, true",
    })
    void matvecAllocatesNothingInSteadyState(GgmlType type, int rows, int cols, int threads, boolean quantized)
            throws Exception {
        // In a JVM of its own: how C2 compiles the kernels depends on the profile a JVM has built. In
        // the test suite's JVM (every path, with odd shapes; Jazzer's agent loaded) C2 twice left a
        // vector add of the Q8_0 kernel to the Java fallback, 12 KiB per matvec; the cause is not known.
        ChildJvm.run(SteadyState.class, List.of(), "STEADY-OK", type.name(), String.valueOf(rows),
                String.valueOf(cols), String.valueOf(threads), String.valueOf(quantized));
    }

    /** The child JVM of {@link #matvecAllocatesNothingInSteadyState}: args = type, rows, cols, threads, quantized. */
    static final class SteadyState {
        public static void main(String[] args) {
            try {
                check(GgmlType.valueOf(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]),
                        Integer.parseInt(args[3]), Boolean.parseBoolean(args[4]));
                System.out.println("STEADY-OK");
                System.exit(0);
            } catch (Throwable t) {
                System.out.println("FAIL " + t);
                System.exit(1);
            }
        }

        private static void check(GgmlType type, int rows, int cols, int threads, boolean quantized) {
            // Off-heap like a memory-mapped model (the Vector API boxes float loads from byte[]-backed segments).
            byte[] bytes = Quantizer.randomBlocks(type, rows * cols / type.blockSize(),
                    new SplittableRandom(rows * 31L + cols));
            try (Arena arena = Arena.ofShared(); ComputePool pool = ComputePool.create(threads)) {
                MemorySegment data = arena.allocate(bytes.length);
                MemorySegment.copy(MemorySegment.ofArray(bytes), 0, data, 0, bytes.length);
                WeightMatrix m = WeightMatrix.of(type, data, rows, cols);
                float[] x = new float[cols];
                SplittableRandom rng = new SplittableRandom(3);
                for (int i = 0; i < cols; i++) {
                    x[i] = (float) rng.nextDouble(-1, 1);
                }
                float[] out = new float[rows];
                float[] expected = new float[rows];
                Kernels.quantizeActivations = quantized;
                Kernels.matvec(m, x, 0, expected, 0, pool);
                out[rows - 1] = Float.NaN;
                assertAllocatesNothing(() -> Kernels.matvec(m, x, 0, out, 0, pool), type + " " + rows + "x" + cols);
                for (int r = 0; r < rows; r++) {
                    assertEquals(expected[r], out[r], 1e-5f * (1 + Math.abs(expected[r])), "row " + r + " was computed");
                }
            }
        }
    }

    /**
     * The kernels allocate nothing even when C2 inlines none of kvcache's methods into another: no
     * vector crosses a method boundary (a vector passed to or returned from a method that is not
     * inlined is boxed, an allocation per call; whether C2 inlines a small helper is C2's decision,
     * which depends on the helper's size and on the code it compiled before, so the kernels must
     * not rely on it).
     * Checked in a child JVM told not to inline any {@code io.kvcache} method, for every type with
     * a vector kernel: matvecs, a batch of two (the two-activation integer kernel) and a batch of
     * eight (the panel product), with and without quantized activations.
     */
    @Test
    void theKernelsAllocateNothingWhenNoneOfTheirMethodsIsInlined() throws Exception {
        ChildJvm.run(NoInliningCheck.class, List.of("-XX:CompileCommand=quiet", "-XX:CompileCommand=dontinline,io.kvcache.*::*"),
                "NO-ALLOCATION");
    }

    /** The child JVM of {@link #theKernelsAllocateNothingWhenNoneOfTheirMethodsIsInlined}. */
    static final class NoInliningCheck {
        public static void main(String[] args) {
            int failures = 0;
            try (ComputePool pool = ComputePool.create(2); Arena arena = Arena.ofShared()) {
                for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.F32, GgmlType.F16,
                    GgmlType.BF16, GgmlType.Q4_1, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
                    int rows = 256;
                    int cols = 256;
                    byte[] bytes = Quantizer.randomBlocks(type, rows * cols / type.blockSize(), new SplittableRandom(5));
                    MemorySegment data = arena.allocate(bytes.length);
                    MemorySegment.copy(MemorySegment.ofArray(bytes), 0, data, 0, bytes.length);
                    WeightMatrix m = WeightMatrix.of(type, data, rows, cols);
                    float[] xs = new float[8 * cols];
                    SplittableRandom rng = new SplittableRandom(6);
                    for (int i = 0; i < xs.length; i++) {
                        xs[i] = (float) rng.nextDouble(-1, 1);
                    }
                    float[] out = new float[8 * rows];
                    for (int run = 0; run < 6; run++) {
                        int n = new int[] {1, 2, 8}[run % 3];
                        boolean quantized = run < 3;
                        Runnable product = () -> Kernels.matmul(m, xs, n, out, pool, quantized);
                        // Rounds of 1,000 products until C2 has compiled the kernels (interpreted and
                        // C1 code boxes every vector); the steady state must then allocate nothing.
                        long allocated = Long.MAX_VALUE;
                        for (int round = 0; round < 40 && allocated > TOLERANCE; round++) {
                            long before = THREADS.getCurrentThreadAllocatedBytes();
                            for (int call = 0; call < 1_000; call++) {
                                product.run();
                            }
                            allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
                        }
                        if (allocated > TOLERANCE) {
                            System.out.println("FAIL " + type + " batch of " + n + (quantized ? " (quantized)" : "")
                                    + ": 1,000 products allocated "
                                    + allocated + " bytes on the caller");
                            failures++;
                        }
                    }
                }
            }
            System.out.println(failures == 0 ? "NO-ALLOCATION" : "FAILURES " + failures);
            System.exit(failures == 0 ? 0 : 1);
        }
    }

    private static final int[] SINK = new int[64];

    @ParameterizedTest(name = "{0} threads")
    @CsvSource({"2", "3"})
    void parallelForWithANonCapturingBodyAllocatesNothing(int threads) {
        ComputePool.RangeTask body = (from, to) -> {
            for (int i = from; i < to; i++) {
                SINK[i]++;
            }
        };
        try (ComputePool pool = ComputePool.create(threads)) {
            Arrays.fill(SINK, 0);
            assertAllocatesNothing(() -> pool.parallelFor(SINK.length, body), "parallelFor");
            int runs = SINK[0];
            assertTrue(runs >= CALLS, "every call ran the body: " + runs);
            for (int v : SINK) {
                assertEquals(runs, v, "every index runs once per call");
            }
        }
    }
}
