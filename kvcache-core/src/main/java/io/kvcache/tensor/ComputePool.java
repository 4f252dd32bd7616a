package io.kvcache.tensor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * A fixed pool of compute threads for data-parallel loops; the calling thread works too.
 *
 * <p>{@link #parallelFor} splits {@code [0, n)} into at most {@link #threads()} contiguous ranges
 * and runs each range once; the caller and the workers claim ranges from a shared counter, so a
 * worker that is slow to wake does not hold up the loop (the caller takes its range). Idle
 * workers spin briefly (about {@value #SPIN_NANOS} ns) for the next loop before parking, which
 * keeps the cost of a loop over tiny work to a few microseconds during token generation.
 *
 * <p><b>Allocation-free:</b> a loop allocates nothing in steady state. Its state (body, size,
 * counters) lives in one object reused by every loop, with a generation number in the word
 * through which ranges are claimed, so a worker still finishing an old loop cannot claim a range
 * of a new one. The body is the only per-call object; pass one that is not a fresh capturing
 * lambda (a field, or an object with mutable fields like {@link Kernels#matvec}'s) to make the
 * whole call allocation-free. The lock is held across the loop, and after it the pool keeps no
 * reference to the body.
 *
 * <p>Thread-safe. Calls to {@link #parallelFor} from different threads are <b>serialized</b>
 * (one loop runs at a time). A <b>nested</b> call (from inside a body, on any of the pool's
 * threads) runs its whole range inline on the calling thread instead of deadlocking.
 * Workers are daemon threads named {@code kvcache-compute-N}. {@link #close()} stops them;
 * {@link #parallelFor} on a closed pool throws {@link IllegalStateException}.
 */
public final class ComputePool implements AutoCloseable {
    /** The range counter of a loop has 16 bits. */
    static final int MAX_THREADS = 0xFFFF;

    /** How long an idle worker spins before parking. */
    static final long SPIN_NANOS = 50_000;

    private static final class DefaultHolder {
        static final ComputePool POOL = new ComputePool(Runtime.getRuntime().availableProcessors(), true);
    }

    private final int threads;
    private final Thread[] workers;
    private final boolean shared;
    private final ReentrantLock lock = new ReentrantLock();
    /** Set while a thread of this pool (worker or caller) runs a body, to detect nesting. */
    private final ThreadLocal<Boolean> inBody = ThreadLocal.withInitial(() -> Boolean.FALSE);
    /** The one loop state, reused by every loop (see {@link Loop}). */
    private final Loop loop = new Loop();
    private volatile boolean closed;
    /** One flag per worker: true while it is parked (or about to park) and needs an unpark. */
    private final boolean[] parked;
    private final Object parkedLock = new Object();

    /**
     * The state of the running loop, one object reused by every loop so that a loop allocates
     * nothing. All claims go through one 64-bit word, {@code control}: the loop's generation
     * (high 32 bits), its number of ranges (bits 16-31) and the next unclaimed range (bits 0-15).
     * A range is claimed by a compare-and-set of that word, so a claim made with a generation that
     * has since ended fails: a worker that is slow to notice the end of a loop can never claim a
     * range of the next one. Body and {@code n} are written by the caller before it publishes the
     * new generation, and a claimant reads them only after its claim succeeded; as the loop cannot
     * finish while a claimed range is running, the caller cannot overwrite them meanwhile.
     */
    private static final class Loop {
        private static final VarHandle CONTROL;
        private static final VarHandle PENDING;

        static {
            try {
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                CONTROL = lookup.findVarHandle(Loop.class, "control", long.class);
                PENDING = lookup.findVarHandle(Loop.class, "pending", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        /** Generation, range count and next range, see the class comment. */
        volatile long control;
        /** Ranges of the current generation not yet finished. */
        volatile int pending;
        @Nullable RangeTask body;
        int n;
        @Nullable Thread caller;
        volatile @Nullable Throwable failure;

        static int generation(long control) {
            return (int) (control >>> 32);
        }

        static int parts(long control) {
            return (int) (control >>> 16) & 0xFFFF;
        }

        static int next(long control) {
            return (int) control & 0xFFFF;
        }

        /** Starts the next generation; only the caller holding the pool's lock calls this. */
        void start(RangeTask body, int n, int parts, Thread caller) {
            this.body = body;
            this.n = n;
            this.caller = caller;
            this.failure = null;
            this.pending = parts;
            long generation = generation(control) + 1L;
            control = (generation & 0xFFFF_FFFFL) << 32 | (long) parts << 16; // publishes the fields above
        }

        /** Drops the references to the finished loop's body and caller. */
        void clear() {
            body = null;
            caller = null;
        }

        /** Claims and runs ranges of generation {@code generation} until none are left. */
        void work(int generation, ThreadLocal<Boolean> inBody) {
            while (true) {
                long c = control;
                if (generation(c) != generation) {
                    return;
                }
                int i = next(c);
                int parts = parts(c);
                if (i >= parts) {
                    return;
                }
                if (!CONTROL.compareAndSet(this, c, c + 1)) {
                    continue;
                }
                RangeTask task = body;
                Thread waiter = caller;
                int size = n;
                int from = (int) ((long) size * i / parts);
                int to = (int) ((long) size * (i + 1) / parts);
                try {
                    if (failure == null && task != null) {
                        inBody.set(Boolean.TRUE);
                        task.run(from, to);
                    }
                } catch (Throwable t) {
                    synchronized (this) {
                        if (failure == null) {
                            failure = t;
                        }
                    }
                } finally {
                    inBody.set(Boolean.FALSE);
                    if ((int) PENDING.getAndAdd(this, -1) == 1) {
                        LockSupport.unpark(waiter);
                    }
                }
            }
        }
    }

    /** A loop body over the index range {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int from, int to);
    }

    private ComputePool(int threads, boolean shared) {
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("threads must be in [1, " + MAX_THREADS + "], got " + threads);
        }
        this.threads = threads;
        this.shared = shared;
        this.workers = new Thread[threads - 1];
        this.parked = new boolean[threads - 1];
        for (int w = 0; w < workers.length; w++) {
            int index = w;
            Thread t = new Thread(() -> workerLoop(index), "kvcache-compute-" + (w + 1));
            t.setDaemon(true);
            workers[w] = t;
        }
        for (Thread t : workers) {
            t.start();
        }
    }

    /**
     * A new pool of {@code threads} threads in total, counting the caller: {@code threads - 1}
     * workers are started; 1 runs everything on the caller.
     *
     * @throws IllegalArgumentException when {@code threads < 1} or above 65535
     */
    public static ComputePool create(int threads) {
        return new ComputePool(threads, false);
    }

    /** The shared pool with {@code availableProcessors()} threads; {@link #close()} on it does nothing. */
    public static ComputePool defaultPool() {
        return DefaultHolder.POOL;
    }

    /** Threads that run a loop, counting the caller. */
    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} split into contiguous ranges across the threads and
     * returns when all ranges are done. When a body throws, ranges not yet started are skipped
     * and the first exception is rethrown (errors and runtime exceptions as they are).
     *
     * @throws IllegalArgumentException when {@code n < 0}
     * @throws IllegalStateException when the pool is closed
     */
    public void parallelFor(int n, RangeTask body) {
        if (n < 0) {
            throw new IllegalArgumentException("n must be >= 0, got " + n);
        }
        if (closed) {
            throw new IllegalStateException("compute pool is closed; create a new one");
        }
        if (n == 0) {
            return;
        }
        boolean nested = inBody.get();
        if (threads == 1 || n == 1 || nested) {
            runInline(n, body, nested);
            return;
        }
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("compute pool is closed; create a new one");
            }
            loop.start(body, n, Math.min(n, threads), Thread.currentThread());
            wakeWorkers();
            loop.work(Loop.generation(loop.control), inBody);
            awaitDone();
            Throwable failure = loop.failure;
            loop.clear(); // releases the body; no range of this generation is left to run it
            if (failure != null) {
                loop.failure = null;
                throw rethrow(failure);
            }
        } finally {
            lock.unlock();
        }
    }

    private void runInline(int n, RangeTask body, boolean nested) {
        if (nested) {
            body.run(0, n);
            return;
        }
        inBody.set(Boolean.TRUE);
        try {
            body.run(0, n);
        } finally {
            inBody.set(Boolean.FALSE);
        }
    }

    private void wakeWorkers() {
        synchronized (parkedLock) {
            for (int w = 0; w < workers.length; w++) {
                if (parked[w]) {
                    parked[w] = false;
                    LockSupport.unpark(workers[w]);
                }
            }
        }
    }

    private void awaitDone() {
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        while (loop.pending != 0) {
            if (System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
            } else {
                LockSupport.park(loop);
            }
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("parallelFor body failed: " + t, t);
    }

    private void workerLoop(int index) {
        int seen = 0; // the generation before the first loop: a loop started before this thread ran is still seen
        while (!closed) {
            int generation = Loop.generation(loop.control);
            if (generation != seen) {
                seen = generation;
                loop.work(generation, inBody);
                continue;
            }
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (Loop.generation(loop.control) == seen && !closed && System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
            }
            if (Loop.generation(loop.control) == seen && !closed) {
                synchronized (parkedLock) {
                    parked[index] = true;
                }
                // Re-check after publishing the flag: a loop started in between unparks us.
                if (Loop.generation(loop.control) == seen && !closed) {
                    LockSupport.park(this);
                }
                synchronized (parkedLock) {
                    parked[index] = false;
                }
            }
        }
    }

    /**
     * Stops the workers and waits (up to a second each) for them to exit; waits first for a
     * running loop to finish. Idempotent. Does nothing on {@link #defaultPool()}.
     *
     * @throws IllegalStateException when called from inside a loop body of this pool
     */
    @Override
    public void close() {
        if (shared) {
            return;
        }
        if (inBody.get()) {
            throw new IllegalStateException("close() called from inside a parallelFor body; close the pool after the loop");
        }
        lock.lock();
        try {
            closed = true;
        } finally {
            lock.unlock();
        }
        for (Thread t : workers) {
            LockSupport.unpark(t);
        }
        for (Thread t : workers) {
            if (t != Thread.currentThread()) {
                try {
                    t.join(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    /** True when every worker thread has exited (after {@link #close()}). */
    boolean terminated() {
        for (Thread t : workers) {
            if (t.isAlive()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "ComputePool[" + threads + " threads" + (closed ? ", closed" : "") + "]";
    }
}
