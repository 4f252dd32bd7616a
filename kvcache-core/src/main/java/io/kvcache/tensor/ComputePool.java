package io.kvcache.tensor;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
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
 * <p>Thread-safe. Calls to {@link #parallelFor} from different threads are <b>serialized</b>
 * (one loop runs at a time). A <b>nested</b> call (from inside a body, on any of the pool's
 * threads) runs its whole range inline on the calling thread instead of deadlocking.
 * Workers are daemon threads named {@code kvcache-compute-N}. {@link #close()} stops them;
 * {@link #parallelFor} on a closed pool throws {@link IllegalStateException}.
 */
public final class ComputePool implements AutoCloseable {
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
    private volatile @Nullable Job current;
    private volatile boolean closed;
    /** One flag per worker: true while it is parked (or about to park) and needs an unpark. */
    private final boolean[] parked;
    private final Object parkedLock = new Object();

    /**
     * One loop. A fresh object per loop so that a worker still finishing an old loop can never
     * claim a range of the next one.
     */
    private static final class Job {
        private static final AtomicIntegerFieldUpdater<Job> NEXT = AtomicIntegerFieldUpdater.newUpdater(Job.class, "next");
        private static final AtomicIntegerFieldUpdater<Job> PENDING = AtomicIntegerFieldUpdater.newUpdater(Job.class, "pending");

        final RangeTask body;
        final int n;
        final int parts;
        final Thread caller;
        volatile int next;
        volatile int pending;
        volatile @Nullable Throwable failure;

        Job(RangeTask body, int n, int parts, Thread caller) {
            this.body = body;
            this.n = n;
            this.parts = parts;
            this.caller = caller;
            this.pending = parts;
        }

        /** Claims and runs ranges until none are left. */
        void work(ThreadLocal<Boolean> inBody) {
            int i;
            while ((i = NEXT.getAndIncrement(this)) < parts) {
                int from = (int) ((long) n * i / parts);
                int to = (int) ((long) n * (i + 1) / parts);
                try {
                    if (failure == null) {
                        inBody.set(Boolean.TRUE);
                        body.run(from, to);
                    }
                } catch (Throwable t) {
                    synchronized (this) {
                        if (failure == null) {
                            failure = t;
                        }
                    }
                } finally {
                    inBody.set(Boolean.FALSE);
                    if (PENDING.decrementAndGet(this) == 0) {
                        LockSupport.unpark(caller);
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
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
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
     * @throws IllegalArgumentException when {@code threads < 1}
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
            Job job = new Job(body, n, Math.min(n, threads), Thread.currentThread());
            current = job;
            wakeWorkers();
            job.work(inBody);
            awaitDone(job);
            current = null; // releases the body; idle workers wait for the next job
            Throwable failure = job.failure;
            if (failure != null) {
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

    private static void awaitDone(Job job) {
        long spinUntil = System.nanoTime() + SPIN_NANOS;
        while (job.pending != 0) {
            if (System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
            } else {
                LockSupport.park(job);
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
        Job seen = null;
        while (!closed) {
            Job job = current;
            if (job != null && job != seen) {
                seen = job;
                job.work(inBody);
                continue;
            }
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (current == job && !closed && System.nanoTime() < spinUntil) {
                Thread.onSpinWait();
            }
            if (current == job && !closed) {
                synchronized (parkedLock) {
                    parked[index] = true;
                }
                // Re-check after publishing the flag: a loop started in between unparks us.
                if (current == job && !closed) {
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
            current = null;
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
