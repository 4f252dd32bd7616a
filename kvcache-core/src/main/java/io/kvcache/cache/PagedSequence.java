package io.kvcache.cache;

import io.kvcache.cache.internal.BlockPool;
import io.kvcache.cache.internal.PagedAttention;
import io.kvcache.cache.internal.UseGuard;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The {@link KvSequence} of a {@link KvCache}: its tokens, its length and reserved range, and a
 * {@link BlockTable} of the blocks that hold their K/V.
 *
 * <p>Metadata changes happen under the cache lock (other threads read it for statistics and may
 * preempt the sequence); K/V bytes are written and read without it. The {@link #guard} detects
 * overlapping use by callers (which throws) and lets a preempting thread take the sequence only
 * when nobody is using it; a caller arriving during that short window waits for it to end.
 */
final class PagedSequence implements KvSequence {
    private final KvCache cache;
    private final KvCacheSpec spec;
    private final BlockPool pool;
    private final PagedAttention attention;
    private final long id;
    private final long openedNanos = System.nanoTime();
    private final int blockSize;
    private final int headDim;
    private final UseGuard guard = new UseGuard();

    private final BlockTable blocks;
    private int[] tokens = new int[64];
    /** Blocks taken by one reserve before they are installed; reused so a decode step allocates nothing. Guarded by the cache lock. */
    private int[] freshBlocks = new int[4];
    private int length;
    private int reservedEnd;
    /** Written by a preempting thread under the lock and the guard; volatile for {@link #isPreempted()}. */
    private volatile boolean preempted;
    /** Whether the owner has been told of the current preemption; only then may reserve() resume. */
    private boolean preemptionSeen;
    private int @Nullable [] history;
    private volatile boolean closed;
    private float @Nullable [] ownScratch;

    PagedSequence(KvCache cache, long id) {
        this.cache = cache;
        this.spec = cache.spec;
        this.pool = cache.pool;
        this.attention = cache.attention;
        this.id = id;
        this.blockSize = spec.blockSize();
        this.headDim = spec.headDim();
        this.blocks = new BlockTable(cache);
    }

    // ---------------------------------------------------------------- guard

    private void beginWrite() {
        if (!guard.enterWrite()) {
            ensureUsable();
            throw concurrentUse();
        }
        if (closed || cache.closed) {
            guard.exitWrite();
            ensureUsable();
        }
    }

    private void endWrite() {
        guard.exitWrite();
    }

    private void beginRead() {
        if (!guard.enterRead()) {
            ensureUsable();
            throw concurrentUse();
        }
        if (closed || cache.closed) {
            guard.exitRead();
            ensureUsable();
        }
    }

    private void endRead() {
        guard.exitRead();
    }

    private void ensureUsable() {
        if (closed) {
            throw new IllegalStateException("sequence " + id + " is closed; open a new one with KvCache.newSequence()");
        }
        cache.ensureOpen();
    }

    private IllegalStateException concurrentUse() {
        return new IllegalStateException("sequence " + id + " is being used by another thread at the same time"
                + " (concurrent mutation); a KvSequence must be used by one thread at a time: give each thread"
                + " its own sequence (fork() it) or synchronize the callers");
    }

    private void ensureNotPreempted() {
        if (preempted) {
            preemptionSeen = true;
            throw new SequencePreemptedException(id);
        }
    }

    // ---------------------------------------------------------------- simple queries

    @Override
    public long id() {
        return id;
    }

    @Override
    public int length() {
        ensureUsable();
        return length;
    }

    @Override
    public int capacity() {
        ensureUsable();
        return spec.contextLength();
    }

    @Override
    public boolean isFull() {
        return length() >= spec.contextLength();
    }

    @Override
    public boolean isEmpty() {
        return length() == 0;
    }

    @Override
    public KvCacheSpec spec() {
        return spec;
    }

    @Override
    public CacheStrategy strategy() {
        return cache.strategy();
    }

    @Override
    public boolean isPreempted() {
        ensureUsable();
        if (preempted) {
            preemptionSeen = true;
            return true;
        }
        return false;
    }

    @Override
    public int[] tokens() {
        beginRead();
        try {
            int[] dropped = history;
            if (preempted && dropped != null) {
                preemptionSeen = true;
                return dropped.clone();
            }
            return Arrays.copyOf(tokens, length);
        } finally {
            endRead();
        }
    }

    // ---------------------------------------------------------------- mutation

    @Override
    public void reserve(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("reserve(n) needs n >= 0, was " + n);
        }
        beginWrite();
        try {
            cache.lock.lock();
            try {
                reserveLocked(n);
            } finally {
                cache.lock.unlock();
            }
        } finally {
            endWrite();
        }
    }

    private void reserveLocked(int n) {
        cache.ensureOpen();
        if (preempted && !preemptionSeen) {
            // Preempted by another thread since the owner last looked: resuming silently at length 0
            // would store the caller's next positions in the wrong place.
            ensureNotPreempted();
        }
        long newEnd = (long) length + n;
        if (newEnd > spec.contextLength()) {
            throw new ContextLengthExceededException(id, length, n, spec.contextLength());
        }
        if (newEnd <= reservedEnd) {
            resume();
            return;
        }
        blocks.ensureCapacity(spec.blocksFor((int) newEnd));
        int first = length / blockSize;
        int last = (int) ((newEnd - 1) / blockSize);
        int needed = blocks.blocksToWrite(first, last);
        int total = needed + blocks.heldBlocks(reservedEnd);
        if (total > pool.maxBlocks()) {
            // Checked first so that no other sequence is preempted in vain.
            throw cache.cacheFull("sequence " + id + " would need " + total + " blocks, more than the whole budget");
        }
        // Phase 1: get every block first, so a failure leaves the sequence untouched.
        if (freshBlocks.length < needed) {
            freshBlocks = new int[Math.max(needed, 2 * freshBlocks.length)];
        }
        int[] fresh = freshBlocks;
        int got = 0;
        try {
            while (got < needed) {
                fresh[got] = cache.allocateBlockLocked(this);
                got++;
            }
        } catch (RuntimeException e) {
            for (int i = 0; i < got; i++) {
                pool.release(fresh[i]);
            }
            throw e;
        }
        // Phase 2: install them.
        blocks.prepareWrite(first, last, fresh, got);
        reservedEnd = (int) newEnd;
        resume();
    }

    /** A preempted sequence resumes (empty) once a reserve succeeds; a failed one keeps the history. */
    private void resume() {
        preempted = false;
        history = null;
    }

    @Override
    public void store(int layer, int position, float[] k, int kOffset, float[] v, int vOffset) {
        beginWrite();
        try {
            ensureNotPreempted();
            Objects.checkIndex(layer, spec.layers());
            if (position < length || position >= reservedEnd) {
                throw new IllegalStateException("store at position " + position + " of sequence " + id
                        + " is outside the reserved range [" + length + ", " + reservedEnd
                        + "); call reserve(n) first and store only positions not yet advanced");
            }
            int kvDim = spec.kvDim();
            Objects.checkFromIndexSize(kOffset, kvDim, k.length);
            Objects.checkFromIndexSize(vOffset, kvDim, v.length);
            attention.writeRow(blocks.block(position / blockSize), layer, position % blockSize, k, kOffset, v, vOffset);
        } finally {
            endWrite();
        }
    }

    @Override
    public void advance(int[] tokenIds) {
        Objects.requireNonNull(tokenIds, "tokenIds");
        advance(tokenIds.length, tokenIds);
    }

    @Override
    public void advance(int n) {
        if (n < 0) {
            throw new IllegalArgumentException("advance(n) needs n >= 0, was " + n);
        }
        advance(n, null);
    }

    private void advance(int n, int @Nullable [] tokenIds) {
        beginWrite();
        try {
            cache.lock.lock();
            try {
                cache.ensureOpen();
                ensureNotPreempted();
                if ((long) length + n > reservedEnd) {
                    throw new IllegalStateException("cannot advance sequence " + id + " by " + n + ": only "
                            + (reservedEnd - length) + " positions are reserved; call reserve(n) and store"
                            + " their K/V first");
                }
                if (tokens.length < length + n) {
                    tokens = Arrays.copyOf(tokens, Math.min(spec.contextLength(), Math.max(length + n, tokens.length * 2)));
                }
                if (tokenIds != null) {
                    System.arraycopy(tokenIds, 0, tokens, length, n);
                } else {
                    Arrays.fill(tokens, length, length + n, -1);
                }
                length += n;
                if (cache.prefixCaching) {
                    blocks.indexFullBlocks(tokens, length);
                }
                blocks.dropOutOfWindow(length);
            } finally {
                cache.lock.unlock();
            }
        } finally {
            endWrite();
        }
    }

    /** Attaches the cached full blocks matching the prompt; called under the lock before publication. */
    int attachPrefixLocked(int[] prompt) {
        int positions = blocks.attachPrefix(prompt) * blockSize;
        if (tokens.length < positions) {
            tokens = new int[positions];
        }
        System.arraycopy(prompt, 0, tokens, 0, positions);
        length = positions;
        reservedEnd = positions;
        blocks.dropOutOfWindow(length);
        return positions;
    }

    @Override
    public void truncate(int n) {
        beginWrite();
        try {
            cache.lock.lock();
            try {
                cache.ensureOpen();
                if (n > 0) {
                    ensureNotPreempted(); // its length dropped to 0 behind the caller's back
                }
                if (n < 0 || n > length) {
                    throw new IllegalArgumentException("truncate(" + n + ") on sequence " + id + " of length " + length
                            + ": n must be in [0, length]");
                }
                if (cache.window > 0 && n > 0) {
                    int needFrom = Math.max(0, n - cache.window + 1);
                    for (int idx = needFrom / blockSize; idx <= (n - 1) / blockSize; idx++) {
                        if (blocks.block(idx) < 0) {
                            throw new IllegalArgumentException("cannot truncate sequence " + id + " to " + n
                                    + ": positions from " + needFrom + " would be visible again but were already"
                                    + " dropped by the sliding window (" + cache.window + "); truncate to at least "
                                    + ((idx + 1) * blockSize + cache.window - 1) + " or clear() and recompute");
                        }
                    }
                }
                blocks.truncate(n, reservedEnd);
                length = n;
                reservedEnd = n;
            } finally {
                cache.lock.unlock();
            }
        } finally {
            endWrite();
        }
    }

    @Override
    public void clear() {
        beginWrite();
        try {
            cache.lock.lock();
            try {
                cache.ensureOpen();
                resetLocked();
                preempted = false;
                history = null;
            } finally {
                cache.lock.unlock();
            }
        } finally {
            endWrite();
        }
    }

    private void resetLocked() {
        blocks.truncate(0, reservedEnd);
        length = 0;
        reservedEnd = 0;
    }

    @Override
    public KvSequence fork() {
        beginWrite();
        try {
            cache.lock.lock();
            try {
                cache.ensureOpen();
                ensureNotPreempted();
                if (reservedEnd != length) {
                    throw new IllegalStateException("cannot fork sequence " + id + " while " + (reservedEnd - length)
                            + " reserved positions are not advanced; fork between steps (advance() or"
                            + " truncate(length()) first)");
                }
                return cache.admitFork(this);
            } finally {
                cache.lock.unlock();
            }
        } finally {
            endWrite();
        }
    }

    /** Makes this fresh sequence a copy-on-write twin of {@code parent}; under the lock. */
    void copyFromLocked(PagedSequence parent) {
        blocks.copyFrom(parent.blocks, parent.length);
        tokens = Arrays.copyOf(parent.tokens, Math.max(64, parent.tokens.length));
        length = parent.length;
        reservedEnd = parent.length;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (!guard.enterWrite()) {
            if (closed) {
                return;
            }
            throw concurrentUse();
        }
        try {
            cache.lock.lock();
            try {
                if (!closed) {
                    if (!cache.closed) {
                        resetLocked();
                        cache.removeLocked(this);
                    }
                    closed = true;
                }
            } finally {
                cache.lock.unlock();
            }
        } finally {
            guard.exitWrite();
        }
    }

    // ---------------------------------------------------------------- called by the cache under its lock

    boolean holdsBlocksLocked() {
        return !closed && !preempted && reservedEnd > 0;
    }

    /** Whether preempting this sequence would return at least one block (one it alone references). */
    boolean wouldFreeBlocksLocked() {
        return holdsBlocksLocked() && blocks.holdsExclusiveBlock(reservedEnd);
    }

    boolean hasNoPendingReservationLocked() {
        return reservedEnd == length;
    }

    int lengthLocked() {
        return length;
    }

    /** Drops this sequence's K/V if no thread is using it right now; keeps its token history. */
    boolean tryPreemptLocked() {
        if (closed || preempted || !guard.tryEnterPreempting()) {
            return false;
        }
        try {
            history = Arrays.copyOf(tokens, length);
            resetLocked();
            preemptionSeen = false;
            preempted = true;
            return true;
        } finally {
            guard.exitPreempting();
        }
    }

    SequenceInfo infoLocked(long nowNanos) {
        return new SequenceInfo(id, length, blocks.heldBlocks(reservedEnd), blocks.sharedBlocks(reservedEnd),
                Duration.ofNanos(nowNanos - openedNanos));
    }

    /** Adds this sequence's block references to {@code refs} after checking its own table. */
    void countReferencesLocked(int[] refs) {
        if (!(0 <= length && length <= reservedEnd && reservedEnd <= spec.contextLength())) {
            throw new IllegalStateException("sequence " + id + ": bad length " + length + " / reserved " + reservedEnd);
        }
        if (preempted && reservedEnd != 0) {
            throw new IllegalStateException("sequence " + id + " is preempted but holds positions");
        }
        blocks.countReferences("sequence " + id, length, reservedEnd, refs);
    }

    // ---------------------------------------------------------------- reading

    @Override
    public void readKey(int layer, int position, float[] dst, int off) {
        read(layer, position, dst, off, true);
    }

    @Override
    public void readValue(int layer, int position, float[] dst, int off) {
        read(layer, position, dst, off, false);
    }

    private void read(int layer, int position, float[] dst, int off, boolean key) {
        beginRead();
        try {
            ensureNotPreempted();
            Objects.checkIndex(layer, spec.layers());
            Objects.checkFromIndexSize(off, spec.kvDim(), dst.length);
            if (position < 0 || position >= reservedEnd) {
                throw notStored(position);
            }
            int block = blocks.block(position / blockSize);
            if (block < 0) {
                throw droppedPosition(position);
            }
            attention.readRow(key, block, layer, position % blockSize, dst, off);
        } finally {
            endRead();
        }
    }

    private IllegalStateException notStored(int position) {
        return new IllegalStateException("position " + position + " of sequence " + id + " is not stored (length "
                + length + ", reserved up to " + reservedEnd + "); reserve and store it first");
    }

    private IllegalStateException droppedPosition(int position) {
        return new IllegalStateException("position " + position + " of sequence " + id + " was dropped by the"
                + " sliding window (window " + cache.window + ", sink tokens " + cache.sinkTokens
                + "); only the sinks and the last " + cache.window + " positions are kept");
    }

    @Override
    public int attentionScratchSize() {
        return attention.scratchSize();
    }

    @Override
    public int attentionScratchSize(int queryHeads) {
        return attention.groupedScratchSize(queryHeads);
    }

    @Override
    public void attention(int layer, int position, int queryHeads, float[] q, float[] out) {
        float[] scratch = ownScratch;
        if (scratch == null || scratch.length < attention.groupedScratchSize(queryHeads)) {
            scratch = new float[attention.groupedScratchSize(queryHeads)];
            ownScratch = scratch;
        }
        attention(layer, position, queryHeads, q, 0, out, 0, 0, queryHeads, scratch);
    }

    @Override
    public void attention(int layer, int position, int queryHeads, float[] q, int qOff, float[] out, int outOff,
                          int headFrom, int headTo, float[] scratch) {
        beginRead();
        try {
            ensureNotPreempted();
            checkAttention(layer, queryHeads, headFrom, headTo, scratch);
            Objects.checkFromIndexSize(qOff, queryHeads * headDim, q.length);
            Objects.checkFromIndexSize(outOff, queryHeads * headDim, out.length);
            if (position < 0 || position >= reservedEnd) {
                throw notStored(position);
            }
            int missing = attention.firstMissing(blocks.entries(), position);
            if (missing >= 0) {
                throw droppedPosition(missing);
            }
            attention.attend(blocks.entries(), layer, position, queryHeads, q, qOff, out, outOff, headFrom, headTo, scratch);
        } finally {
            endRead();
        }
    }

    @Override
    public int attentionScratchSize(int queryHeads, int count) {
        return attention.runScratchSize(queryHeads, count);
    }

    @Override
    public void attention(int layer, int firstPosition, int count, int queryHeads, float[] q, int qOff, int qStride,
                          float[] out, int outOff, int outStride, int headFrom, int headTo, float[] scratch) {
        beginRead();
        try {
            ensureNotPreempted();
            checkAttention(layer, queryHeads, headFrom, headTo, scratch);
            int width = queryHeads * headDim;
            if (count < 1 || qStride < width || outStride < width) {
                throw new IllegalArgumentException("count (" + count + ") must be positive and the strides ("
                        + qStride + ", " + outStride + ") at least queryHeads*headDim = " + width);
            }
            Objects.checkFromIndexSize(qOff, Math.toIntExact((long) (count - 1) * qStride + width), q.length);
            Objects.checkFromIndexSize(outOff, Math.toIntExact((long) (count - 1) * outStride + width), out.length);
            if (firstPosition < 0 || (long) firstPosition + count > reservedEnd) {
                throw notStored(firstPosition < 0 ? firstPosition : Math.max(firstPosition, reservedEnd));
            }
            for (int position = firstPosition; position < firstPosition + count; position++) {
                int missing = attention.firstMissing(blocks.entries(), position);
                if (missing >= 0) {
                    throw droppedPosition(missing);
                }
            }
            attention.attendRun(blocks.entries(), layer, firstPosition, count, queryHeads, q, qOff, qStride, out, outOff,
                    outStride, headFrom, headTo, scratch);
        } finally {
            endRead();
        }
    }

    private void checkAttention(int layer, int queryHeads, int headFrom, int headTo, float[] scratch) {
        Objects.checkIndex(layer, spec.layers());
        int kvHeads = spec.kvHeads();
        if (queryHeads < kvHeads || queryHeads % kvHeads != 0) {
            throw new IllegalArgumentException("queryHeads (" + queryHeads + ") must be a positive multiple of"
                    + " the cache's kvHeads (" + kvHeads + ")");
        }
        Objects.checkFromToIndex(headFrom, headTo, queryHeads);
        if (scratch.length < attention.scratchSize()) {
            throw new IllegalArgumentException("attention scratch holds " + scratch.length + " floats, needs "
                    + attention.scratchSize() + " (attentionScratchSize())");
        }
    }

    @Override
    public String toString() {
        return "KvSequence[id=" + id + ", length=" + length + (preempted ? ", preempted" : "")
                + (closed ? ", closed" : "") + "]";
    }
}
