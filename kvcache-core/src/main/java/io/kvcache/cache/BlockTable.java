package io.kvcache.cache;

import io.kvcache.cache.internal.BlockPool;
import io.kvcache.cache.internal.BlockTableAudit;
import io.kvcache.cache.internal.PrefixHash;
import java.util.Arrays;

/**
 * The block table of one {@link PagedSequence}: entry {@code i} is the pool block that holds
 * positions {@code [i * blockSize, (i + 1) * blockSize)}, or {@code -1} where no block is held (not
 * yet reserved, or dropped by the sliding window), with the prefix-hash chain of the leading full
 * blocks. It owns one reference to every block it holds and releases them itself.
 *
 * <p>Not thread-safe. It changes only under the cache lock, by the sequence's owner or a thread
 * preempting the sequence (both inside the sequence's guard); the attention kernels read
 * {@link #entries()} inside the guard, without the lock, which no other thread can then change.
 */
final class BlockTable {
    private final KvCache cache;
    private final BlockPool pool;
    private final KvCacheSpec spec;
    private final int blockSize;

    private int[] entries;
    private long[] chainHash;
    /** Leading full blocks whose chain hash is known, and registered in the pool's prefix index. */
    private int hashedBlocks;
    /** First entry the sliding window has not yet dropped or passed. */
    private int dropScan;

    BlockTable(KvCache cache) {
        this.cache = cache;
        this.pool = cache.pool;
        this.spec = cache.spec;
        this.blockSize = spec.blockSize();
        this.entries = new int[Math.min(16, spec.blocksFor(spec.contextLength()))];
        Arrays.fill(entries, -1);
        this.chainHash = new long[entries.length];
    }

    /** The entries, for the attention kernels; replaced (not changed in place) when the table grows. */
    int[] entries() {
        return entries;
    }

    int block(int index) {
        return entries[index];
    }

    /** Tables grow on demand, so a long context length costs nothing until it is used. */
    void ensureCapacity(int blocks) {
        if (entries.length < blocks) {
            int grown = (int) Math.min(spec.blocksFor(spec.contextLength()), Math.max(blocks, 2L * entries.length));
            int old = entries.length;
            entries = Arrays.copyOf(entries, grown);
            Arrays.fill(entries, old, grown, -1);
            chainHash = Arrays.copyOf(chainHash, grown);
        }
    }

    /** Blocks that writing entries {@code [first, last]} takes: the missing ones and the shared ones (copied on write). */
    int blocksToWrite(int first, int last) {
        int needed = 0;
        for (int idx = first; idx <= last; idx++) {
            if (entries[idx] < 0 || pool.refCount(entries[idx]) > 1) {
                needed++;
            }
        }
        return needed;
    }

    /**
     * Makes entries {@code [first, last]} writable with the {@code got} blocks of {@code fresh}: a
     * missing entry takes a fresh block, a shared one a fresh copy, and an exclusive one leaves the
     * prefix index (its positions are about to be overwritten). Releases the fresh blocks left over:
     * a preemption while they were taken may have made a shared block exclusive.
     */
    void prepareWrite(int first, int last, int[] fresh, int got) {
        int used = 0;
        for (int idx = first; idx <= last; idx++) {
            int block = entries[idx];
            if (block < 0) {
                entries[idx] = fresh[used++];
            } else if (pool.refCount(block) > 1) {
                int copy = fresh[used++];
                pool.copy(block, copy);
                pool.release(block);
                entries[idx] = copy;
            } else if (pool.isIndexed(block)) {
                pool.unindex(block);
            }
        }
        while (used < got) {
            pool.release(fresh[used++]);
        }
    }

    /** Extends the hash chain over newly full blocks whose token ids are all known, indexing each block. */
    void indexFullBlocks(int[] tokens, int length) {
        while ((hashedBlocks + 1) * blockSize <= length) {
            int from = hashedBlocks * blockSize;
            for (int i = from; i < from + blockSize; i++) {
                if (tokens[i] < 0) {
                    return; // unknown id: this block and every later one cannot be named
                }
            }
            long parent = hashedBlocks == 0 ? PrefixHash.ROOT : chainHash[hashedBlocks - 1];
            long hash = cache.chainHash(parent, tokens, from);
            chainHash[hashedBlocks] = hash;
            int block = entries[hashedBlocks];
            if (block >= 0) {
                pool.register(block, hash, parent, tokens, from);
            }
            hashedBlocks++;
        }
    }

    /** Frees the blocks no future query can see: wholly before {@code length - window + 1}, holding no sink. */
    void dropOutOfWindow(int length) {
        int window = cache.window;
        if (window == 0) {
            return;
        }
        long keepFrom = (long) length - window + 1;
        int idx = Math.max(dropScan, sinkBlocks());
        for (; (long) (idx + 1) * blockSize <= keepFrom; idx++) {
            if (entries[idx] >= 0) {
                pool.release(entries[idx]);
                entries[idx] = -1;
            }
        }
        dropScan = idx;
    }

    private int sinkBlocks() {
        return (cache.sinkTokens + blockSize - 1) / blockSize;
    }

    /**
     * Takes the cached full blocks that match the start of {@code prompt}, leaving its last
     * token to be computed; only on a fresh table. Returns how many blocks were attached.
     */
    int attachPrefix(int[] prompt) {
        int maxBlocks = prompt.length == 0 ? 0
                : Math.min((prompt.length - 1) / blockSize, spec.contextLength() / blockSize);
        ensureCapacity(maxBlocks);
        long parent = PrefixHash.ROOT;
        int attached = 0;
        while (attached < maxBlocks) {
            int from = attached * blockSize;
            long hash = cache.chainHash(parent, prompt, from);
            int block = pool.lookup(hash, parent, prompt, from);
            if (block < 0) {
                break;
            }
            pool.retain(block);
            entries[attached] = block;
            chainHash[attached] = hash;
            parent = hash;
            attached++;
        }
        hashedBlocks = attached;
        return attached;
    }

    /** Shares the first {@code length} positions of {@code parent}'s blocks (copy on write); only on a fresh table. */
    void copyFrom(BlockTable parent, int length) {
        int blocks = spec.blocksFor(length);
        ensureCapacity(blocks);
        for (int idx = 0; idx < blocks; idx++) {
            int block = parent.entries[idx];
            if (block >= 0) {
                pool.retain(block);
            }
            entries[idx] = block;
        }
        System.arraycopy(parent.chainHash, 0, chainHash, 0, parent.hashedBlocks);
        hashedBlocks = parent.hashedBlocks;
        dropScan = parent.dropScan;
    }

    /**
     * Cuts the table to a sequence of {@code n} positions that held positions up to
     * {@code reservedEnd}: releases the blocks past it and forgets the hashes of blocks no longer full.
     */
    void truncate(int n, int reservedEnd) {
        release(spec.blocksFor(n), reservedEnd);
        hashedBlocks = Math.min(hashedBlocks, n / blockSize);
        dropScan = Math.min(dropScan, n / blockSize); // blocks past n may be reallocated: rescan them
    }

    private void release(int firstIndex, int reservedEnd) {
        for (int idx = firstIndex, end = spec.blocksFor(reservedEnd); idx < end; idx++) {
            if (entries[idx] >= 0) {
                pool.release(entries[idx]);
                entries[idx] = -1;
            }
        }
    }

    /** Blocks held for positions up to {@code reservedEnd}. */
    int heldBlocks(int reservedEnd) {
        int held = 0;
        for (int idx = 0, end = spec.blocksFor(reservedEnd); idx < end; idx++) {
            if (entries[idx] >= 0) {
                held++;
            }
        }
        return held;
    }

    /** Held blocks, up to {@code reservedEnd}, that another sequence or the prefix cache also references. */
    int sharedBlocks(int reservedEnd) {
        int shared = 0;
        for (int idx = 0, end = spec.blocksFor(reservedEnd); idx < end; idx++) {
            if (entries[idx] >= 0 && pool.refCount(entries[idx]) > 1) {
                shared++;
            }
        }
        return shared;
    }

    /** Whether some block held up to {@code reservedEnd} is referenced by this table alone. */
    boolean holdsExclusiveBlock(int reservedEnd) {
        for (int idx = 0, end = spec.blocksFor(reservedEnd); idx < end; idx++) {
            if (entries[idx] >= 0 && pool.refCount(entries[idx]) == 1) {
                return true;
            }
        }
        return false;
    }

    /** Checks that every entry a sequence of {@code length} needs is held, and adds the references to {@code refs}. */
    void countReferences(String owner, int length, int reservedEnd, int[] refs) {
        long keepFrom = cache.window == 0 ? 0 : (long) length - cache.window + 1;
        int sinkBlocks = sinkBlocks();
        BlockTableAudit.count(owner, entries, spec.blocksFor(reservedEnd),
                idx -> cache.window > 0 && idx >= sinkBlocks && (long) (idx + 1) * blockSize <= keepFrom, refs);
    }
}
