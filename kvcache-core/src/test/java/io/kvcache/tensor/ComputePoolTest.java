package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ComputePoolTest {

    @Test
    void coversTheRangeExactlyOnceWithContiguousRanges() {
        for (int threads : new int[] {1, 2, 3, 5}) {
            try (ComputePool pool = ComputePool.create(threads)) {
                assertEquals(threads, pool.threads());
                for (int n : new int[] {1, 2, 3, 7, 100, 1001}) {
                    int[] hits = new int[n];
                    List<int[]> ranges = Collections.synchronizedList(new ArrayList<>());
                    pool.parallelFor(n, (from, to) -> {
                        ranges.add(new int[] {from, to});
                        for (int i = from; i < to; i++) {
                            hits[i]++;
                        }
                    });
                    int[] ones = new int[n];
                    Arrays.fill(ones, 1);
                    assertTrue(Arrays.equals(ones, hits), "threads " + threads + " n " + n);
                    assertTrue(ranges.size() <= Math.min(n, threads), "at most one range per thread");
                    for (int[] r : ranges) {
                        assertTrue(r[0] < r[1], "ranges are non-empty");
                    }
                }
                pool.parallelFor(0, (from, to) -> {
                    throw new AssertionError("no work for n = 0");
                });
            }
        }
    }

    @Test
    void workersReallyShareTheWork() throws Exception {
        try (ComputePool pool = ComputePool.create(3)) {
            Set<String> names = ConcurrentHashMap.newKeySet();
            CountDownLatch all = new CountDownLatch(3);
            pool.parallelFor(3, (from, to) -> {
                names.add(Thread.currentThread().getName());
                all.countDown();
                try {
                    // Each range waits for the others: only completes if three threads run at once.
                    assertTrue(all.await(10, java.util.concurrent.TimeUnit.SECONDS));
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(3, names.size(), names.toString());
            assertTrue(names.contains(Thread.currentThread().getName()), "the caller participates");
            assertTrue(names.stream().filter(n -> n.startsWith("kvcache-compute-")).count() == 2, names.toString());
        }
    }

    @Test
    void exceptionsPropagateAndThePoolStaysUsable() {
        try (ComputePool pool = ComputePool.create(3)) {
            for (int attempt = 0; attempt < 20; attempt++) {
                int failing = attempt % 3;
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool.parallelFor(3, (from, to) -> {
                    if (from == failing) {
                        throw new IllegalArgumentException("range " + from);
                    }
                }));
                assertEquals("range " + failing, e.getMessage());
            }
            assertThrows(StackOverflowError.class, () -> pool.parallelFor(2, (from, to) -> {
                throw new StackOverflowError("simulated");
            }));
            AtomicInteger sum = new AtomicInteger();
            pool.parallelFor(10, (from, to) -> sum.addAndGet(to - from));
            assertEquals(10, sum.get());
        }
    }

    @Test
    void nestedCallsRunInlineInsteadOfDeadlocking() {
        try (ComputePool pool = ComputePool.create(3)) {
            int[] hits = new int[30];
            pool.parallelFor(3, (from, to) -> {
                for (int i = from; i < to; i++) {
                    int base = i * 10;
                    Thread outer = Thread.currentThread();
                    pool.parallelFor(10, (f, t) -> {
                        assertSame(outer, Thread.currentThread(), "nested loop runs on the calling thread");
                        for (int j = f; j < t; j++) {
                            hits[base + j]++;
                        }
                    });
                }
            });
            int[] ones = new int[30];
            Arrays.fill(ones, 1);
            assertTrue(Arrays.equals(ones, hits));
            assertThrows(IllegalStateException.class, () -> pool.parallelFor(1, (f, t) -> pool.close()));
        }
    }

    @Test
    void concurrentCallersAreSerializedAndCorrect() throws Exception {
        try (ComputePool pool = ComputePool.create(3); ExecutorService callers = Executors.newFixedThreadPool(4)) {
            AtomicInteger inside = new AtomicInteger();
            AtomicInteger maxInside = new AtomicInteger();
            List<Future<Long>> results = new ArrayList<>();
            for (int c = 0; c < 4; c++) {
                int caller = c;
                results.add(callers.submit(() -> {
                    long total = 0;
                    for (int k = 0; k < 200; k++) {
                        long[] partial = new long[64];
                        pool.parallelFor(64, (from, to) -> {
                            int now = inside.incrementAndGet();
                            maxInside.accumulateAndGet(now, Math::max);
                            for (int i = from; i < to; i++) {
                                partial[i] = i + caller;
                            }
                            inside.decrementAndGet();
                        });
                        total += Arrays.stream(partial).sum();
                    }
                    return total;
                }));
            }
            for (int c = 0; c < 4; c++) {
                assertEquals(200L * (64 * 63 / 2 + 64L * c), results.get(c).get());
            }
            assertTrue(maxInside.get() <= 3, "one loop at a time: at most 3 bodies run at once, saw " + maxInside.get());
        }
    }

    @Test
    void closeStopsTheWorkersAndRejectsNewWork() throws Exception {
        ComputePool pool = ComputePool.create(4);
        pool.parallelFor(100, (from, to) -> { });
        pool.close();
        assertTrue(pool.terminated(), "workers exited");
        long alive = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("kvcache-compute-") && t.isAlive()).count();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.parallelFor(10, (f, t) -> { }));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        pool.close(); // idempotent
        assertTrue(alive >= 0);
        ComputePool shared = ComputePool.defaultPool();
        shared.close();
        AtomicInteger n = new AtomicInteger();
        shared.parallelFor(5, (from, to) -> n.addAndGet(to - from));
        assertEquals(5, n.get(), "the default pool ignores close()");
        assertEquals(Runtime.getRuntime().availableProcessors(), shared.threads());
        assertThrows(IllegalArgumentException.class, () -> ComputePool.create(0));
    }

    @Test
    void manyBackToBackLoopsNeverLoseOrRepeatARange() {
        // Hammers the hand-off between loops (workers still spinning on the previous job).
        try (ComputePool pool = ComputePool.create(3)) {
            java.util.SplittableRandom rng = new java.util.SplittableRandom(11);
            AtomicInteger covered = new AtomicInteger();
            long expected = 0;
            for (int loop = 0; loop < 50_000; loop++) {
                int n = 1 + rng.nextInt(40);
                expected += n;
                pool.parallelFor(n, (from, to) -> covered.addAndGet(to - from));
                assertEquals(expected, covered.get(), "after loop " + loop);
            }
        }
    }

    @Test
    void loopOverheadIsMicroseconds() {
        try (ComputePool pool = ComputePool.create(2)) {
            int[] sink = new int[2];
            for (int i = 0; i < 20_000; i++) {
                pool.parallelFor(2, (from, to) -> sink[from]++);
            }
            int loops = 20_000;
            long start = System.nanoTime();
            for (int i = 0; i < loops; i++) {
                pool.parallelFor(2, (from, to) -> sink[from]++);
            }
            double micros = (System.nanoTime() - start) / 1e3 / loops;
            System.out.printf("ComputePool(2) parallelFor over tiny work: %.2f us per call%n", micros);
            assertEquals(40_000, sink[0]);
            // Generous bound: the machine is shared; a park/unpark per call would still pass, a
            // millisecond-scale sleep would not.
            assertTrue(micros < 500, micros + " us per call");
        }
    }
}
