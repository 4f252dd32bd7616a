package io.kvcache.cache.internal;

import io.kvcache.cache.KvCacheSpec;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Fixed-size blocks in off-heap chunks, with reference counts and the prefix index.
 *
 * <p><b>Block layout</b> (chosen for attention's inner loop, which walks the positions of one
 * (layer, KV head) reading a contiguous head-dim row each):
 * <pre>
 * block = layer[0] .. layer[L-1]
 * layer = K section, V section
 * K section = kvHead[0] .. kvHead[H-1], each = row[slot 0] .. row[slot blockSize-1]
 * row = headDim elements in the key (value) type (Q8_0: headDim/32 groups of F16 scale + 32 int8)
 * </pre>
 * so the K of one (layer, head) over the block's positions is one contiguous run of
 * {@code blockSize * rowBytes} bytes.
 *
 * <p><b>Allocation:</b> chunks of {@code chunkBlocks} blocks, each from its own shared arena so it
 * can be freed, are allocated lazily up to {@code maxBlocks}. New blocks come from the lowest
 * free block id, so high chunks drain and {@link #compact()} can release them. When nothing is free
 * and no chunk fits, the least recently released prefix-cached block is evicted.
 *
 * <p><b>Not thread-safe:</b> the owner (KvCache) serializes every call under its lock. Block memory
 * itself is read and written outside the lock by the sequence that owns the block.
 */
public final class BlockPool {
    private final KvCacheSpec spec;
    private final int maxBlocks;
    private final int chunkBlocks;
    private final long blockBytes;
    private final long kRowBytes;
    private final long vRowBytes;
    private final long kHeadStride;
    private final long vHeadStride;
    private final long kSectionBytes;
    private final long layerBytes;

    private final @Nullable MemorySegment[] chunks;
    private final @Nullable Arena[] arenas;
    private final int[] refCounts;
    private final BitSet free = new BitSet();
    private int allocatedChunks;
    private int usedBlocks;

    // Prefix index: hash -> block; per block its key, parent hash and token ids (to verify matches).
    private final Map<Long, Integer> index = new HashMap<>();
    private final boolean[] indexed;
    private final long[] blockHash;
    private final long[] blockParentHash;
    private final int[][] blockTokens;
    private final LinkedHashSet<Integer> cachedLru = new LinkedHashSet<>();
    private long evictions;

    public BlockPool(KvCacheSpec spec, int maxBlocks, int chunkBlocks) {
        if (maxBlocks < 1 || chunkBlocks < 1) {
            throw new IllegalArgumentException("maxBlocks and chunkBlocks must be >= 1");
        }
        this.spec = spec;
        this.maxBlocks = maxBlocks;
        this.chunkBlocks = Math.min(chunkBlocks, maxBlocks);
        this.kRowBytes = spec.keyType().bytesFor(spec.headDim());
        this.vRowBytes = spec.valueType().bytesFor(spec.headDim());
        this.kHeadStride = kRowBytes * spec.blockSize();
        this.vHeadStride = vRowBytes * spec.blockSize();
        this.kSectionBytes = kHeadStride * spec.kvHeads();
        this.layerBytes = kSectionBytes + vHeadStride * spec.kvHeads();
        this.blockBytes = layerBytes * spec.layers();
        int chunkCount = (maxBlocks + this.chunkBlocks - 1) / this.chunkBlocks;
        this.chunks = new MemorySegment[chunkCount];
        this.arenas = new Arena[chunkCount];
        this.refCounts = new int[maxBlocks];
        this.indexed = new boolean[maxBlocks];
        this.blockHash = new long[maxBlocks];
        this.blockParentHash = new long[maxBlocks];
        this.blockTokens = new int[maxBlocks][];
    }

    // ---- layout ----

    public long blockBytes() {
        return blockBytes;
    }

    /** The chunk segment holding {@code block}. */
    public MemorySegment segment(int block) {
        MemorySegment chunk = chunks[block / chunkBlocks];
        if (chunk == null) {
            throw new IllegalStateException("block " + block + " is not allocated (cache closed or compacted)");
        }
        return chunk;
    }

    /** Byte offset of the block in its chunk segment. */
    public long blockBase(int block) {
        return (long) (block % chunkBlocks) * blockBytes;
    }

    /** Offset within a block of the K row of (layer, head, slot). */
    public long keyOffset(int layer, int head, int slot) {
        return layer * layerBytes + head * kHeadStride + slot * kRowBytes;
    }

    /** Offset within a block of the V row of (layer, head, slot). */
    public long valueOffset(int layer, int head, int slot) {
        return layer * layerBytes + kSectionBytes + head * vHeadStride + slot * vRowBytes;
    }

    public long keyRowBytes() {
        return kRowBytes;
    }

    public long valueRowBytes() {
        return vRowBytes;
    }

    // ---- allocation ----

    /**
     * A block with reference count 1: the lowest free one, else one from a new chunk, else an
     * evicted prefix-cached one; -1 when none can be had.
     */
    public int allocate() {
        int block = free.nextSetBit(0);
        if (block < 0 && allocateChunk()) {
            block = free.nextSetBit(0);
        }
        if (block < 0 && !cachedLru.isEmpty()) {
            Iterator<Integer> oldest = cachedLru.iterator();
            block = oldest.next();
            oldest.remove();
            unindex(block);
            evictions++;
        } else if (block >= 0) {
            free.clear(block);
        }
        if (block < 0) {
            return -1;
        }
        refCounts[block] = 1;
        usedBlocks++;
        return block;
    }

    /** Blocks that {@link #allocate()} could still hand out (free, in new chunks, or evictable). */
    public int available() {
        int unallocated = 0;
        for (int c = 0; c < chunks.length; c++) {
            if (chunks[c] == null) {
                unallocated += chunkSize(c);
            }
        }
        return free.cardinality() + unallocated + cachedLru.size();
    }

    private boolean allocateChunk() {
        for (int c = 0; c < chunks.length; c++) {
            if (chunks[c] == null) {
                Arena arena = Arena.ofShared();
                try {
                    chunks[c] = arena.allocate(blockBytes * chunkSize(c), 64);
                } catch (OutOfMemoryError e) {
                    arena.close();
                    throw e;
                }
                arenas[c] = arena;
                allocatedChunks++;
                free.set(c * chunkBlocks, c * chunkBlocks + chunkSize(c));
                return true;
            }
        }
        return false;
    }

    private int chunkSize(int chunk) {
        return Math.min(chunkBlocks, maxBlocks - chunk * chunkBlocks);
    }

    public void retain(int block) {
        if (refCounts[block] == 0) {
            cachedLru.remove(block);
            usedBlocks++;
        }
        refCounts[block]++;
    }

    /** Drops one reference; at zero the block becomes prefix-cached (if indexed) or free. */
    public void release(int block) {
        if (refCounts[block] <= 0) {
            throw new IllegalStateException("block " + block + " released more often than retained");
        }
        if (--refCounts[block] == 0) {
            usedBlocks--;
            if (indexed[block]) {
                cachedLru.add(block);
            } else {
                free.set(block);
            }
        }
    }

    public int refCount(int block) {
        return refCounts[block];
    }

    /** Copies the whole content of one block into another. */
    public void copy(int from, int to) {
        MemorySegment.copy(segment(from), blockBase(from), segment(to), blockBase(to), blockBytes);
    }

    // ---- prefix index ----

    /** The indexed block for this chain link, verified against parent and ids; -1 if none. */
    public int lookup(long hash, long parent, int[] tokens, int from) {
        Integer block = index.get(hash);
        if (block == null || blockParentHash[block] != parent) {
            return -1;
        }
        int[] stored = blockTokens[block];
        return Arrays.equals(stored, 0, stored.length, tokens, from, from + stored.length) ? block : -1;
    }

    /** Indexes a full block under its chain hash unless that hash is already taken. */
    public void register(int block, long hash, long parent, int[] tokens, int from) {
        if (indexed[block] || index.containsKey(hash)) {
            return;
        }
        index.put(hash, block);
        indexed[block] = true;
        blockHash[block] = hash;
        blockParentHash[block] = parent;
        blockTokens[block] = Arrays.copyOfRange(tokens, from, from + spec.blockSize());
    }

    public boolean isIndexed(int block) {
        return indexed[block];
    }

    /** Removes a block from the prefix index (before it is written, or when evicted). */
    public void unindex(int block) {
        if (indexed[block]) {
            index.remove(blockHash[block]);
            indexed[block] = false;
            blockTokens[block] = null;
            if (refCounts[block] == 0 && cachedLru.remove(block)) {
                free.set(block);
            }
        }
    }

    /** Forgets every prefix-cached block; unreferenced ones become free. */
    public void clearIndex() {
        for (int block : index.values().toArray(new Integer[0])) {
            unindex(block);
        }
    }

    // ---- chunks ----

    /** Releases every chunk whose blocks are all free; returns the bytes released. */
    public long compact() {
        long released = 0;
        for (int c = 0; c < chunks.length; c++) {
            if (chunks[c] == null) {
                continue;
            }
            int start = c * chunkBlocks;
            int end = start + chunkSize(c);
            if (free.nextClearBit(start) >= end) {
                free.clear(start, end);
                released += chunks[c].byteSize();
                chunks[c] = null;
                Arena arena = arenas[c];
                arenas[c] = null;
                allocatedChunks--;
                if (arena != null) {
                    arena.close();
                }
            }
        }
        return released;
    }

    /** Frees all memory. The pool is unusable afterwards. */
    public void close() {
        for (int c = 0; c < chunks.length; c++) {
            chunks[c] = null;
            Arena arena = arenas[c];
            arenas[c] = null;
            if (arena != null) {
                arena.close();
            }
        }
        allocatedChunks = 0;
        free.clear();
    }

    // ---- statistics and integrity ----

    public int maxBlocks() {
        return maxBlocks;
    }

    public int chunkBlocks() {
        return chunkBlocks;
    }

    public int usedBlocks() {
        return usedBlocks;
    }

    public int cachedBlocks() {
        return cachedLru.size();
    }

    public int allocatedChunks() {
        return allocatedChunks;
    }

    public long reservedBytes() {
        long bytes = 0;
        for (MemorySegment chunk : chunks) {
            if (chunk != null) {
                bytes += chunk.byteSize();
            }
        }
        return bytes;
    }

    public long evictions() {
        return evictions;
    }

    /**
     * Compares the pool's bookkeeping with {@code expectedRefs} (references recomputed from every live
     * sequence) and its own internal invariants; throws {@link IllegalStateException} describing the
     * first mismatch.
     */
    public void checkIntegrity(int[] expectedRefs) {
        int used = 0;
        int cached = 0;
        for (int b = 0; b < maxBlocks; b++) {
            boolean allocated = chunks[b / chunkBlocks] != null;
            if (refCounts[b] != expectedRefs[b]) {
                fail("block " + b + " has refcount " + refCounts[b] + " but " + expectedRefs[b] + " references");
            }
            if (!allocated && (refCounts[b] != 0 || indexed[b] || free.get(b))) {
                fail("block " + b + " is in use in an unallocated chunk");
            }
            if (refCounts[b] > 0) {
                used++;
                if (free.get(b) || cachedLru.contains(b)) {
                    fail("block " + b + " is referenced and also free/cached");
                }
            } else if (allocated) {
                boolean isFree = free.get(b);
                boolean isCached = cachedLru.contains(b);
                if (isFree == isCached || isCached != indexed[b]) {
                    fail("block " + b + " unreferenced: free=" + isFree + " cached=" + isCached + " indexed=" + indexed[b]);
                }
                if (isCached) {
                    cached++;
                }
            }
            if (indexed[b] && !Integer.valueOf(b).equals(index.get(blockHash[b]))) {
                fail("block " + b + " marked indexed but the index maps its hash elsewhere");
            }
        }
        for (Map.Entry<Long, Integer> e : index.entrySet()) {
            if (!indexed[e.getValue()] || blockHash[e.getValue()] != e.getKey()) {
                fail("index entry " + e + " is stale");
            }
        }
        if (used != usedBlocks || cached != cachedLru.size()) {
            fail("counters: used " + usedBlocks + " (actual " + used + "), cached " + cachedLru.size()
                    + " (actual " + cached + ")");
        }
    }

    private static void fail(String message) {
        throw new IllegalStateException("KV cache integrity violated: " + message);
    }
}
