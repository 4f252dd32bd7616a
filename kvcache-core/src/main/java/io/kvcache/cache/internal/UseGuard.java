package io.kvcache.cache.internal;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Detects overlapping use of a single-threaded object without locking: any number of readers, or
 * one writer, or one preempting thread (the pool taking the object's memory). A caller that finds
 * another caller inside gets {@code false} (the object reports misuse); a caller that finds a
 * preemption in progress waits for it, because that is brief and no fault of the caller.
 * Thread-safe.
 */
public final class UseGuard {
    private static final int IDLE = 0;
    private static final int WRITING = -1;
    private static final int PREEMPTING = Integer.MIN_VALUE;

    private final AtomicInteger state = new AtomicInteger(IDLE);

    /** Enters as the one writer; false if a reader or writer is inside. */
    public boolean enterWrite() {
        while (true) {
            int current = state.get();
            if (current == PREEMPTING) {
                Thread.onSpinWait();
            } else if (current != IDLE) {
                return false;
            } else if (state.compareAndSet(IDLE, WRITING)) {
                return true;
            }
            // The CAS lost to a preemption that may already be over: look again.
        }
    }

    public void exitWrite() {
        state.set(IDLE);
    }

    /** Enters as one more reader; false if a writer is inside. */
    public boolean enterRead() {
        while (true) {
            int current = state.get();
            if (current == PREEMPTING) {
                Thread.onSpinWait();
            } else if (current < 0) {
                return false;
            } else if (state.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    public void exitRead() {
        state.decrementAndGet();
    }

    /** Enters for a preemption if nobody is inside; never waits. */
    public boolean tryEnterPreempting() {
        return state.compareAndSet(IDLE, PREEMPTING);
    }

    public void exitPreempting() {
        state.set(IDLE);
    }
}
