package io.kvcache.inference;

import io.kvcache.cache.KvSequence;
import io.kvcache.model.LlamaModel;
import java.util.ArrayDeque;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;

/**
 * Continuous batching of one-token decode steps: concurrent generations share one decode loop and
 * each step runs one batched forward pass over all of them (every weight read once for the whole
 * batch); new sequences join between steps.
 *
 * <p>How a step happens: a caller submits (sequence, token, logits buffer) and blocks. The first
 * caller that finds no step running becomes the <b>leader</b>. It waits a short, bounded
 * <b>gather window</b> for the sequences of the previous step that are expected back (so that
 * steps do not fragment while the others sample their token), takes itself and up to
 * {@code maxBatchSize - 1} pending submissions in arrival order, runs {@link LlamaModel#forwardBatch}
 * outside the lock, hands every member its logits or its own exception, and wakes the oldest
 * pending caller, which leads the next step. There is no thread of its own: the leader is always
 * a caller, so nothing leaks and nothing has to be stopped.
 *
 * <p>Failure isolation: {@code forwardBatch} puts a member's own failure (cache full, context
 * exceeded, preempted, bad token) in that member's slot; it is rethrown to that caller only, whose
 * {@link InferenceEngine} retry logic then handles it as for an unbatched step. When the step as a
 * whole fails, the leader gets the exception and every other member an
 * {@link IllegalStateException} caused by it. Every member is completed in a {@code finally}, so a
 * failure never leaves a caller waiting.
 *
 * <p>Waiting ignores interrupts (a step is short and bounded; the flag is restored on return), as
 * an unbatched forward pass does. {@link #close()} wakes every caller not yet in a step with an
 * {@link IllegalStateException}. One monitor ({@code this}) guards the queue and the step state;
 * waiting is {@link LockSupport#park} on per-thread submissions, so a steady-state step allocates
 * nothing here.
 *
 * <p>Thread-safe.
 */
final class DecodeBatcher {
    /** The gather window never exceeds this, however slow a step is. */
    private static final long MAX_GATHER_NANOS = 20_000_000L;

    private final LlamaModel model;
    private final int maxBatchSize;
    private final ThreadLocal<Submission> own = ThreadLocal.withInitial(Submission::new);

    // Guarded by this.
    private final ArrayDeque<Submission> queue = new ArrayDeque<>(64);
    private boolean stepRunning;
    private boolean closed;
    private @Nullable Thread gatheringLeader;
    /** Sequences of the last step that succeeded and have not come back yet. */
    private final @Nullable KvSequence[] expected;
    private int expectedCount;
    private long lastStepNanos;
    private long steps;
    private long stepMembers;
    private int largestStep;

    // Owned by the leader of the running step.
    private final @Nullable Submission[] batch;
    private final @Nullable KvSequence[] sequences;
    private final int[][] tokens;
    private final float[][] logits;
    private final @Nullable RuntimeException[] failures;
    /** Batch index of each live slot; failures by batch index. */
    private final int[] liveMember;
    private final @Nullable RuntimeException[] memberFailures;

    /** One caller's request; reused by its thread (a thread waits for one at a time). */
    private static final class Submission {
        @Nullable KvSequence sequence;
        int @Nullable [] tokens;
        float @Nullable [] logits;
        @Nullable Thread waiter;
        /** Guarded by the batcher: taken into a step (no longer in the queue). */
        boolean taken;
        /** Guarded by the batcher: the result is in. */
        boolean done;
        @Nullable Throwable failure;
    }

    DecodeBatcher(LlamaModel model, int maxBatchSize) {
        this.model = model;
        this.maxBatchSize = maxBatchSize;
        this.expected = new KvSequence[maxBatchSize];
        this.batch = new Submission[maxBatchSize];
        this.sequences = new KvSequence[maxBatchSize];
        this.tokens = new int[maxBatchSize][];
        this.logits = new float[maxBatchSize][];
        this.failures = new RuntimeException[maxBatchSize];
        this.liveMember = new int[maxBatchSize];
        this.memberFailures = new RuntimeException[maxBatchSize];
    }

    /**
     * Runs one token for {@code sequence} in the next batched step and writes its logits into
     * {@code logitsOut}; throws what that member's step threw.
     *
     * @throws IllegalStateException when the engine was closed before the step took this call
     */
    void decode(KvSequence sequence, int[] oneToken, float[] logitsOut) {
        Submission s = own.get();
        s.sequence = sequence;
        s.tokens = oneToken;
        s.logits = logitsOut;
        s.waiter = Thread.currentThread();
        s.taken = false;
        s.done = false;
        s.failure = null;
        boolean lead;
        synchronized (this) {
            if (closed) {
                throw closedException();
            }
            queue.addLast(s);
            arrived(sequence);
            lead = !stepRunning;
            stepRunning = true;
        }
        boolean interrupted = false;
        try {
            while (true) {
                if (lead) {
                    interrupted |= runStep(s);
                    lead = false;
                }
                synchronized (this) {
                    if (s.done) {
                        break;
                    }
                    if (closed && !s.taken) {
                        queue.remove(s);
                        throw closedException();
                    }
                    if (!stepRunning) {
                        stepRunning = true;
                        lead = true;
                        continue;
                    }
                }
                LockSupport.park(this);
                interrupted |= Thread.interrupted();
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        Throwable failure = s.failure;
        s.sequence = null;
        s.tokens = null;
        s.logits = null;
        s.waiter = null;
        s.failure = null;
        if (failure instanceof RuntimeException r) {
            throw r;
        }
        if (failure instanceof Error e) {
            throw e;
        }
    }

    /** Steps run so far, the calls they served and the largest step: for tests and diagnostics. */
    record Stats(long steps, long members, int largestStep) {
    }

    synchronized Stats stats() {
        return new Stats(steps, stepMembers, largestStep);
    }

    int maxBatchSize() {
        return maxBatchSize;
    }

    synchronized int queueLength() {
        return queue.size();
    }

    /** The sequence will not come back for another step (its generation ended): do not wait for it. */
    synchronized void forget(KvSequence sequence) {
        if (removeExpected(sequence) && gatheringLeader != null) {
            LockSupport.unpark(gatheringLeader);
        }
    }

    /** Wakes every caller that is not in a step; they throw. A running step completes its members. */
    synchronized void close() {
        closed = true;
        for (Submission s : queue) {
            LockSupport.unpark(s.waiter);
        }
        if (gatheringLeader != null) {
            LockSupport.unpark(gatheringLeader);
        }
    }

    /** Gathers, runs one step, completes its members and hands over; returns whether it saw an interrupt. */
    private boolean runStep(Submission self) {
        boolean interrupted = gather();
        int count = 0;
        Throwable stepFailure = null;
        long started = System.nanoTime();
        try {
            synchronized (this) {
                queue.remove(self);
                self.taken = true;
                batch[count++] = self;
                if (closed) {
                    throw closedException();
                }
                while (count < maxBatchSize && !queue.isEmpty()) {
                    Submission s = queue.pollFirst();
                    s.taken = true;
                    batch[count++] = s;
                }
            }
            int live = 0;
            for (int i = 0; i < count; i++) {
                Submission s = batch[i];
                memberFailures[i] = duplicateOfEarlier(s.sequence, i);
                if (memberFailures[i] == null) {
                    liveMember[live] = i;
                    sequences[live] = s.sequence;
                    tokens[live] = s.tokens;
                    logits[live] = s.logits;
                    live++;
                }
            }
            try {
                model.forwardBatch(live, sequences, tokens, logits, failures);
            } finally {
                for (int k = 0; k < live; k++) {
                    memberFailures[liveMember[k]] = failures[k];
                }
            }
        } catch (Throwable t) {
            stepFailure = t;
        } finally {
            complete(self, count, stepFailure, System.nanoTime() - started);
        }
        return interrupted;
    }

    /** A failure for a second submission of a sequence that is already in this step, else null. */
    private @Nullable RuntimeException duplicateOfEarlier(@Nullable KvSequence sequence, int index) {
        for (int j = 0; j < index; j++) {
            if (batch[j].sequence == sequence) {
                return new IllegalStateException("sequence " + sequence.id() + " is being used by another thread"
                        + " at the same time; a KvSequence must be used by one thread at a time: give each thread its"
                        + " own sequence (fork() it) or synchronize the callers");
            }
        }
        return null;
    }

    /** Waits (bounded) while sequences of the last step are still expected back and the batch is not full. */
    private boolean gather() {
        boolean interrupted = false;
        long deadline = 0;
        while (true) {
            long wait;
            synchronized (this) {
                long now = System.nanoTime();
                if (deadline == 0) {
                    deadline = now + Math.min(MAX_GATHER_NANOS, lastStepNanos / 2);
                }
                if (closed || expectedCount == 0 || queue.size() >= maxBatchSize || now >= deadline) {
                    gatheringLeader = null;
                    return interrupted;
                }
                gatheringLeader = Thread.currentThread();
                wait = deadline - now;
            }
            LockSupport.parkNanos(this, wait);
            interrupted |= Thread.interrupted();
        }
    }

    private synchronized void complete(Submission self, int count, @Nullable Throwable stepFailure, long nanos) {
        lastStepNanos = nanos;
        steps++;
        stepMembers += count;
        largestStep = Math.max(largestStep, count);
        expectedCount = 0;
        for (int i = 0; i < count; i++) {
            Submission m = batch[i];
            RuntimeException own = memberFailures[i];
            if (own != null) {
                m.failure = own;
            } else if (stepFailure != null) {
                m.failure = m == self ? stepFailure : new IllegalStateException("the batched decode step this call"
                        + " was part of failed: " + stepFailure + "; if the engine was closed, use a new one", stepFailure);
            } else {
                m.failure = null;
                expected[expectedCount++] = m.sequence;
            }
            m.done = true;
            if (m != self) {
                LockSupport.unpark(m.waiter);
            }
            batch[i] = null;
            sequences[i] = null;
            tokens[i] = null;
            logits[i] = null;
            failures[i] = null;
            memberFailures[i] = null;
        }
        stepRunning = false;
        Submission next = queue.peekFirst();
        if (next != null) {
            LockSupport.unpark(next.waiter);
        }
    }

    /** Under the lock: a submission came in; stop gathering early once everyone expected is back. */
    private void arrived(KvSequence sequence) {
        removeExpected(sequence);
        if (gatheringLeader != null && (expectedCount == 0 || queue.size() >= maxBatchSize)) {
            LockSupport.unpark(gatheringLeader);
        }
    }

    private boolean removeExpected(KvSequence sequence) {
        for (int i = 0; i < expectedCount; i++) {
            if (expected[i] == sequence) {
                expected[i] = expected[--expectedCount];
                expected[expectedCount] = null;
                return true;
            }
        }
        return false;
    }

    private static IllegalStateException closedException() {
        return new IllegalStateException("the inference engine was closed while this decode step waited for its"
                + " batch; close the engine only after its generations have ended");
    }
}
