package io.kvcache.cache;

import io.kvcache.cache.internal.BlockPool;
import io.kvcache.cache.internal.Kernels;
import io.kvcache.cache.internal.PagedAttention;
import io.kvcache.cache.internal.PrefixHash;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * The KV cache pool: off-heap blocks shared by up to {@code maxSequences} {@link KvSequence}s.
 *
 * <p><b>Thread safety:</b> thread-safe. Pool bookkeeping (allocation, reference counts, prefix
 * index, statistics) runs under one lock; K/V data is written and read outside it by the one
 * thread that uses a sequence at a time (see {@link KvSequence}).
 *
 * <p><b>Memory:</b> blocks are allocated lazily in chunks of {@code chunkBlocks} up to the budget;
 * {@link #compact()} returns chunks whose blocks are all free (new blocks come from the lowest
 * chunks, so the highest ones drain first). The reserved memory floor is 0: a cache with no used or
 * prefix-cached blocks releases everything on {@code compact()}. A block holds, for each layer, a K
 * section then a V section; each holds, per KV head, {@code blockSize} consecutive rows of
 * {@code headDim} elements, so attention reads one (layer, head) of a block as one contiguous run.
 * {@link KvCacheSpec#bytesPerBlock()} is the exact block size.
 *
 * <p><b>Prefix caching</b> (on by default): a full block whose token ids and all earlier ids are
 * known is indexed under a hash chained over (parent hash, its ids). {@link #newSequence(int[])}
 * attaches every leading full block of the prompt found in the index (verified id by id), at most
 * {@code prompt.length - 1} positions so the engine always runs the last prompt token for its
 * logits. Freed indexed blocks stay reusable (counted as cached) until a new block is needed and
 * none is free; then the least recently released is evicted.
 *
 * <p><b>Admission:</b> {@link #newSequence()} refuses a sequence beyond {@code maxSequences} with
 * {@link CacheFullException}; memory is claimed later, block by block, by {@link KvSequence#reserve}.
 * When no block is free and no chunk fits the budget, the least recently released prefix-cached
 * block is evicted; if there is none, the {@link CacheStrategy} decides: preempt another sequence
 * ({@code ADAPTIVE}; sequences it does not keep under {@code longSequenceOnly}/{@code DISABLED}) or
 * throw {@link CacheFullException} ({@code ALWAYS}, or nothing preemptible). The caller may retry
 * later (queueing is the scheduler's job, not the pool's).
 *
 * <p><b>Sliding window</b> ({@code slidingWindow(window, sinks)}): attention for position {@code p}
 * sees positions {@code [0, sinks)} and {@code [p-window+1, p]}. After each advance, blocks wholly
 * below {@code length-window+1} that hold no sink are freed; reading such a position throws.
 * Positions stay absolute (RoPE), so a sequence still holds at most {@code contextLength} positions.
 */
public final class KvCache implements AutoCloseable {
    /** Largest block count a cache may have (keeps bookkeeping arrays small); raise blockSize beyond it. */
    public static final int MAX_BLOCKS = 1 << 24;

    final ReentrantLock lock = new ReentrantLock();
    final KvCacheSpec spec;
    final BlockPool pool;
    final PagedAttention attention;
    private final CacheStrategy strategy;
    private final int maxSequences;
    final int window;
    final int sinkTokens;
    final boolean prefixCaching;
    private final Map<Long, PagedSequence> live = new LinkedHashMap<>();
    private long nextId = 1;
    private long prefixQueryTokens;
    private long prefixHitTokens;
    long preemptions;
    volatile boolean closed;

    private KvCache(Builder b) {
        this.spec = b.spec;
        this.strategy = b.strategy;
        this.maxSequences = b.maxSequences;
        this.window = b.window;
        this.sinkTokens = b.sinkTokens;
        this.prefixCaching = b.prefixCaching;
        int maxBlocks = b.resolveMaxBlocks();
        int chunkBlocks = b.chunkBlocks > 0 ? b.chunkBlocks
                : (int) Math.max(1, Math.min(256, (16L << 20) / spec.bytesPerBlock()));
        this.pool = new BlockPool(spec, maxBlocks, chunkBlocks);
        this.attention = new PagedAttention(spec, pool, Kernels.best(), window, sinkTokens);
    }

    /** A builder for a cache of this shape. Not thread-safe. */
    public static Builder builder(KvCacheSpec spec) {
        return new Builder(spec);
    }

    public KvCacheSpec spec() {
        return spec;
    }

    public CacheStrategy strategy() {
        return strategy;
    }

    /** The sliding window in positions, 0 when attention sees the whole sequence. */
    public int slidingWindow() {
        return window;
    }

    /** Attention-sink positions kept visible with a sliding window. */
    public int sinkTokens() {
        return sinkTokens;
    }

    public int maxSequences() {
        return maxSequences;
    }

    /**
     * An empty sequence.
     *
     * @throws CacheFullException if {@code maxSequences} sequences are open
     */
    public KvSequence newSequence() {
        lock.lock();
        try {
            return admit();
        } finally {
            lock.unlock();
        }
    }

    /**
     * A sequence with the longest cached prefix of {@code promptTokens} attached (whole blocks, at
     * most {@code promptTokens.length - 1} positions); {@code length()} is the number attached and the
     * caller computes the rest. With prefix caching on, counts {@code promptTokens.length} query
     * tokens and the attached hit tokens in {@link #stats()}; with it off this is
     * {@link #newSequence()}.
     *
     * @throws CacheFullException if {@code maxSequences} sequences are open
     */
    public KvSequence newSequence(int[] promptTokens) {
        Objects.requireNonNull(promptTokens, "promptTokens");
        lock.lock();
        try {
            PagedSequence sequence = admit();
            if (prefixCaching) {
                prefixQueryTokens += promptTokens.length;
                int attached = sequence.attachPrefixLocked(promptTokens);
                prefixHitTokens += attached;
            }
            return sequence;
        } finally {
            lock.unlock();
        }
    }

    private PagedSequence admit() {
        ensureOpen();
        if (live.size() >= maxSequences) {
            throw new CacheFullException("KV cache already serves its maximum of " + maxSequences
                    + " sequences; close finished sequences or raise the limit with"
                    + " KvCache.Builder.maxSequences(int) / kvcache.cache.max-sequences");
        }
        PagedSequence sequence = new PagedSequence(this, nextId++);
        live.put(sequence.id(), sequence);
        return sequence;
    }

    /** Registers a fork made by {@link PagedSequence#fork()}; called under the lock. */
    PagedSequence admitFork(PagedSequence parent) {
        PagedSequence child = admit();
        child.copyFromLocked(parent);
        return child;
    }

    void removeLocked(PagedSequence sequence) {
        live.remove(sequence.id());
    }

    /**
     * A block with reference count 1 for {@code requester}, preempting other sequences when the
     * strategy allows. Called under the lock.
     *
     * @throws CacheFullException when none can be had
     */
    int allocateBlockLocked(PagedSequence requester) {
        while (true) {
            int block = pool.allocate();
            if (block >= 0) {
                return block;
            }
            if (!preemptOneLocked(requester)) {
                throw cacheFull("no block is free, no prefix-cached block is left to evict and the strategy"
                        + " may preempt no other sequence");
            }
        }
    }

    /**
     * Preempts the newest sequence that is between steps. A sequence with reserved but not yet
     * advanced positions is in the middle of a step and is never chosen: a step reserves all it
     * needs up front, so it always finishes, and preempting it would throw its work away (under
     * load, repeatedly). Callers that find no victim wait for a step to end (the engine does).
     */
    private boolean preemptOneLocked(PagedSequence requester) {
        List<PagedSequence> newestFirst = new ArrayList<>(live.values()).reversed();
        for (PagedSequence candidate : newestFirst) {
            if (candidate != requester && candidate.wouldFreeBlocksLocked()
                    && strategy.mayPreempt(candidate.lengthLocked())
                    && candidate.hasNoPendingReservationLocked()
                    && candidate.tryPreemptLocked()) {
                preemptions++;
                return true;
            }
        }
        return false;
    }

    CacheFullException cacheFull(String why) {
        long budget = pool.maxBlocks() * pool.blockBytes();
        String size = budget >= (1 << 20) ? (budget >> 20) + " MiB" : budget + " bytes";
        return new CacheFullException("KV cache is full: " + why + " (budget " + pool.maxBlocks() + " blocks = " + size
                + " at " + pool.blockBytes() + " bytes per block; " + live.size() + " sequences; strategy " + strategy
                + "); raise the budget with KvCache.Builder.memoryBudget(bytes) / kvcache.cache.memory-budget,"
                + (strategy == CacheStrategy.ADAPTIVE
                        ? " lower maxSequences / kvcache.cache.max-sequences, or close or truncate sequences"
                        : " close or truncate sequences, or use CacheStrategy.ADAPTIVE"));
    }

    /** An immutable snapshot of usage and counters. */
    public KvCacheStats stats() {
        lock.lock();
        try {
            long tokens = 0;
            for (PagedSequence s : live.values()) {
                tokens += s.lengthLocked();
            }
            int total = pool.maxBlocks();
            int used = pool.usedBlocks();
            int cached = pool.cachedBlocks();
            return new KvCacheStats(total, used, total - used - cached, cached, tokens, pool.reservedBytes(),
                    used * pool.blockBytes(), total == 0 ? 0 : (double) used / total, live.size(),
                    prefixQueryTokens, prefixHitTokens, pool.evictions(), preemptions,
                    total * pool.blockBytes(), pool.allocatedChunks());
        } finally {
            lock.unlock();
        }
    }

    /** Snapshots of the live sequences in admission order. */
    public List<SequenceInfo> sequences() {
        lock.lock();
        try {
            long now = System.nanoTime();
            List<SequenceInfo> infos = new ArrayList<>(live.size());
            for (PagedSequence s : live.values()) {
                infos.add(s.infoLocked(now));
            }
            return List.copyOf(infos);
        } finally {
            lock.unlock();
        }
    }

    /** A snapshot of the live sequence with this id, or {@code null} if none is open (closed or unknown id). */
    public @Nullable SequenceInfo sequenceInfo(long sequenceId) {
        lock.lock();
        try {
            PagedSequence sequence = live.get(sequenceId);
            return sequence == null ? null : sequence.infoLocked(System.nanoTime());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Frees a live sequence's blocks: it becomes preempted (see {@link KvSequence#isPreempted()}),
     * keeps its token history and can be resumed by reserving again. Counted as a preemption.
     *
     * @return false if no live sequence has this id, it holds no K/V, or a thread is using it right now
     */
    public boolean evict(long sequenceId) {
        lock.lock();
        try {
            PagedSequence sequence = live.get(sequenceId);
            if (sequence == null || !sequence.holdsBlocksLocked() || !sequence.tryPreemptLocked()) {
                return false;
            }
            preemptions++;
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Forgets every prefix-cached block (in-use blocks stay with their sequences). */
    public void clearPrefixCache() {
        lock.lock();
        try {
            pool.clearIndex();
        } finally {
            lock.unlock();
        }
    }

    /** Releases chunks whose blocks are all free (not used, not prefix-cached); returns bytes released. */
    public long compact() {
        lock.lock();
        try {
            ensureOpen();
            return pool.compact();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Recomputes every block's references from the live sequences and compares them with the pool's
     * reference counts, free set, prefix index and counters.
     *
     * @throws IllegalStateException describing the first inconsistency
     */
    public void checkIntegrity() {
        lock.lock();
        try {
            int[] expected = new int[pool.maxBlocks()];
            for (PagedSequence s : live.values()) {
                s.countReferencesLocked(expected);
            }
            pool.checkIntegrity(expected);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Frees all off-heap memory; every sequence becomes unusable (its methods throw
     * {@link IllegalStateException}). Idempotent. Call it when no thread is inside a sequence call.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (!closed) {
                closed = true;
                live.clear();
                pool.close();
            }
        } finally {
            lock.unlock();
        }
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the KV cache is closed; build a new KvCache");
        }
    }

    long chainHash(long parent, int[] tokens, int from) {
        return PrefixHash.chain(parent, tokens, from, spec.blockSize());
    }

    @Override
    public String toString() {
        return "KvCache[" + spec + ", strategy=" + strategy + ", maxBlocks=" + pool.maxBlocks() + "]";
    }

    /**
     * Builds a {@link KvCache}. Not thread-safe. Defaults: budget for {@code maxSequences} full
     * contexts (allocated lazily), 16 sequences, {@link CacheStrategy#ALWAYS}, no sliding window,
     * prefix caching on, chunks of about 16 MiB.
     */
    public static final class Builder {
        private final KvCacheSpec spec;
        private long memoryBudget = -1;
        private int maxBlocks = -1;
        private int maxSequences = 16;
        private CacheStrategy strategy = CacheStrategy.ALWAYS;
        private int window;
        private int sinkTokens;
        private boolean prefixCaching = true;
        private int chunkBlocks;

        private Builder(KvCacheSpec spec) {
            this.spec = Objects.requireNonNull(spec, "spec");
        }

        /** Budget in bytes (rounded down to whole blocks); replaces an earlier {@link #maxBlocks(int)}. */
        public Builder memoryBudget(long bytes) {
            if (bytes < spec.bytesPerBlock()) {
                throw new IllegalArgumentException("memory budget of " + bytes + " bytes is smaller than one block ("
                        + spec.bytesPerBlock() + " bytes = " + spec.blockSize() + " positions x "
                        + spec.bytesPerToken() + " bytes); give at least that much");
            }
            this.memoryBudget = bytes;
            this.maxBlocks = -1;
            return this;
        }

        /** Budget in blocks; replaces an earlier {@link #memoryBudget(long)}. */
        public Builder maxBlocks(int blocks) {
            if (blocks < 1 || blocks > MAX_BLOCKS) {
                throw new IllegalArgumentException("maxBlocks must be in [1, " + MAX_BLOCKS + "], was " + blocks);
            }
            this.maxBlocks = blocks;
            this.memoryBudget = -1;
            return this;
        }

        public Builder maxSequences(int maxSequences) {
            if (maxSequences < 1) {
                throw new IllegalArgumentException("maxSequences must be >= 1, was " + maxSequences);
            }
            this.maxSequences = maxSequences;
            return this;
        }

        public Builder strategy(CacheStrategy strategy) {
            this.strategy = Objects.requireNonNull(strategy, "strategy");
            return this;
        }

        /**
         * Attention sees the last {@code window} positions plus the first {@code sinkTokens}.
         *
         * @throws IllegalArgumentException if {@code window < 1} or {@code sinkTokens < 0}
         */
        public Builder slidingWindow(int window, int sinkTokens) {
            if (window < 1 || sinkTokens < 0) {
                throw new IllegalArgumentException("sliding window must be >= 1 and sink tokens >= 0, were "
                        + window + " and " + sinkTokens);
            }
            this.window = window;
            this.sinkTokens = sinkTokens;
            return this;
        }

        public Builder prefixCaching(boolean enabled) {
            this.prefixCaching = enabled;
            return this;
        }

        /** Blocks per off-heap chunk (the unit of allocation and of {@link KvCache#compact()}). */
        public Builder chunkBlocks(int blocks) {
            if (blocks < 1) {
                throw new IllegalArgumentException("chunkBlocks must be >= 1, was " + blocks);
            }
            this.chunkBlocks = blocks;
            return this;
        }

        private int resolveMaxBlocks() {
            long blocks;
            if (maxBlocks > 0) {
                blocks = maxBlocks;
            } else if (memoryBudget > 0) {
                blocks = memoryBudget / spec.bytesPerBlock();
            } else {
                blocks = (long) maxSequences * spec.blocksFor(spec.contextLength());
            }
            if (blocks > MAX_BLOCKS) {
                throw new IllegalArgumentException("the budget amounts to " + blocks + " blocks, more than "
                        + MAX_BLOCKS + "; use a larger KvCacheSpec.blockSize or a smaller memoryBudget");
            }
            return (int) blocks;
        }

        public KvCache build() {
            return new KvCache(this);
        }
    }
}
