package io.kvcache.cache;

/**
 * One conversation's view of a {@link KvCache}: a block table, a committed length and the token ids
 * of the committed positions.
 *
 * <p><b>Thread safety:</b> one thread at a time. Mutating calls ({@link #reserve}, {@link #store},
 * {@link #advance}, {@link #truncate}, {@link #clear}, {@link #fork}, {@link #close}) are exclusive;
 * read calls ({@link #readKey}, {@link #readValue}, {@link #attention}) may run concurrently with each
 * other (e.g. disjoint head ranges on worker threads) but not with a mutation. Any overlap that breaks
 * this rule is detected and throws {@link IllegalStateException} without changing anything. Use after
 * {@link #close()} throws {@link IllegalStateException} ("sequence N is closed").
 *
 * <p><b>Positions:</b> positions are absolute (RoPE positions) and a sequence holds at most
 * {@link #capacity()} = {@code spec.contextLength()} of them, also with a sliding window: the window
 * only limits what attention sees and which blocks stay allocated.
 *
 * <p><b>Writing a step:</b> {@code reserve(n)}, then {@code store(layer, position, ...)} for every
 * layer and position in {@code [length, length+n)}, then {@code advance(tokenIds)}.
 */
public interface KvSequence extends AutoCloseable {

    /** The sequence id (unique within its cache); valid after close. */
    long id();

    /** Committed positions. */
    int length();

    /** Maximum positions: the spec's context length. */
    int capacity();

    boolean isFull();

    boolean isEmpty();

    /**
     * Token ids of the committed positions ({@code -1} where they were advanced without ids). While
     * {@link #isPreempted()}, the ids of the positions that were dropped (to recompute them); the next
     * {@link #reserve} resumes the sequence from length 0 and forgets that history.
     */
    int[] tokens();

    /**
     * Makes room for positions {@code [length, length+n)}: allocates blocks, copying a shared last
     * block first (copy-on-write). Reserving less than an existing reservation keeps it. On a
     * preempted sequence whose preemption the caller has seen ({@link #isPreempted()} returned true,
     * {@link #tokens()} returned the history, or a {@link SequencePreemptedException} was thrown) this
     * resumes it, empty; if the preemption happened since the caller last looked, it throws
     * {@link SequencePreemptedException} instead, so a step is never silently written at position 0.
     *
     * @throws ContextLengthExceededException if {@code length + n > capacity()}
     * @throws CacheFullException when no block can be had under the strategy
     * @throws SequencePreemptedException if the sequence was preempted since the caller last looked
     * @throws IllegalArgumentException if {@code n < 0}
     *     (on any failure nothing changes)
     */
    void reserve(int n);

    /**
     * Writes K and V ({@code kvHeads*headDim} floats each, head-major) of one position of one layer,
     * converted to the spec's element types.
     *
     * @throws IndexOutOfBoundsException if the layer, the arrays or offsets are out of range
     * @throws IllegalStateException if {@code position} is outside {@code [length, length+reserved)}
     */
    void store(int layer, int position, float[] k, int kOffset, float[] v, int vOffset);

    /**
     * Commits the first {@code tokenIds.length} reserved positions and records their token ids; full
     * blocks whose whole prefix has known ids become shareable through the prefix cache. With a
     * sliding window, blocks that left the window (and hold no sink) are freed.
     *
     * @throws IllegalStateException if fewer positions are reserved
     */
    void advance(int[] tokenIds);

    /** Like {@link #advance(int[])} without token ids: these blocks (and later ones) are not prefix-shareable. */
    void advance(int n);

    /**
     * Reads K of one position, all KV heads, dequantized into {@code dst[off .. off+kvDim)}. Positions
     * stored but not yet advanced can be read too.
     *
     * @throws IllegalStateException if the position was dropped by the sliding window or is not stored
     */
    void readKey(int layer, int position, float[] dst, int off);

    /** Reads V of one position; see {@link #readKey}. */
    void readValue(int layer, int position, float[] dst, int off);

    /**
     * Causal grouped-query attention for the query at {@code position} over every visible cached
     * position {@code <= position} (stored positions of the current step included; with a sliding
     * window: the sink positions plus the last {@code window} positions).
     *
     * <p>{@code q} holds {@code queryHeads*headDim} floats at {@code qOff}; query head {@code h} uses
     * KV head {@code h / (queryHeads/kvHeads)}. Writes {@code softmax(q·K^T/sqrt(headDim))·V} for query
     * heads {@code [headFrom, headTo)} into {@code out} (same layout as {@code q}). {@code scratch}
     * must hold {@link #attentionScratchSize()} floats and belong to the calling thread. Allocates
     * nothing. With F16 keys the query is rounded to F16 before the dot products, and with F16
     * values the attention weights are rounded to F16: what llama.cpp's F16 matrix products do, so
     * logits match it.
     *
     * <p>Accuracy: with F32 storage the result matches exact (double) attention within about 1e-6
     * relative (float dot products, double softmax sum). With F16/Q8_0 storage the K/V element errors
     * documented on {@link KvElementType} propagate: the output differs from exact attention over the
     * unquantized K/V by at most {@code eV + (exp(2*delta) - 1) * max|V|}, where {@code eV} is the
     * largest V element error and {@code delta = sum_j |q_j| * eK_j / sqrt(headDim)}; typical errors
     * are far smaller (about 2.5e-4 * max|V| for F16 and 4e-3 * max|V| for Q8_0 on random data).
     *
     * @throws IllegalStateException if {@code position} is not stored or a visible position was dropped
     * @throws IllegalArgumentException if {@code queryHeads} is not a multiple of {@code kvHeads} or the
     *     scratch is too small
     */
    void attention(int layer, int position, int queryHeads, float[] q, int qOff, float[] out, int outOff,
                   int headFrom, int headTo, float[] scratch);

    /** Floats of scratch {@link #attention(int, int, int, float[], int, float[], int, int, int, float[])} needs. */
    int attentionScratchSize();

    /**
     * A scratch size with which attention serves all query heads that share a KV head from a single
     * read of its K/V (faster with grouped-query attention: {@code queryHeads / kvHeads} times less
     * K/V traffic). Any size from {@link #attentionScratchSize()} up works; larger ones only help.
     */
    int attentionScratchSize(int queryHeads);

    /**
     * {@link #attention(int, int, int, float[], int, float[], int, int, int, float[]) attention} for the
     * {@code count} consecutive positions {@code firstPosition ..} (the rows of a prompt): position
     * {@code firstPosition + i} reads its query at {@code q[qOff + i * qStride ..]} and writes its output
     * at {@code out[outOff + i * outStride ..]}; each query is causal on its own (it sees only positions
     * up to its own, like a single-position call). The results are bit-identical to {@code count}
     * single-position calls, but an implementation may read (and widen) each K/V block once for many
     * of the queries. {@code scratch} must hold at least {@link #attentionScratchSize()} floats and
     * belong to the calling thread; with {@link #attentionScratchSize(int, int)} floats
     * {@code count} queries of a whole KV group share one read. Thread safety: a read call, like
     * {@code attention}. The default implementation makes the single-position calls.
     *
     * @throws IllegalStateException if a position is not stored or a position visible to one of the
     *     queries was dropped (then nothing is written)
     * @throws IllegalArgumentException if {@code count < 1}, a stride is below {@code queryHeads*headDim},
     *     {@code queryHeads} is not a multiple of {@code kvHeads} or the scratch is too small
     * @throws IndexOutOfBoundsException if the queries or outputs do not fit their arrays
     */
    default void attention(int layer, int firstPosition, int count, int queryHeads, float[] q, int qOff, int qStride,
                           float[] out, int outOff, int outStride, int headFrom, int headTo, float[] scratch) {
        int width = queryHeads * spec().headDim();
        if (count < 1 || qStride < width || outStride < width) {
            throw new IllegalArgumentException("count (" + count + ") must be positive and the strides (" + qStride
                    + ", " + outStride + ") at least queryHeads*headDim = " + width);
        }
        for (int i = 0; i < count; i++) {
            attention(layer, firstPosition + i, queryHeads, q, qOff + i * qStride, out, outOff + i * outStride,
                    headFrom, headTo, scratch);
        }
    }

    /**
     * A scratch size with which the multi-position {@link #attention(int, int, int, int, float[], int, int,
     * float[], int, int, int, int, float[]) attention} serves {@code count} positions of all query heads
     * that share a KV head from one read of its K/V. Any size from {@link #attentionScratchSize()} up
     * works (smaller ones take fewer positions per read). The default is
     * {@link #attentionScratchSize(int)}.
     */
    default int attentionScratchSize(int queryHeads, int count) {
        return attentionScratchSize(queryHeads);
    }

    /** All heads with an internal scratch buffer: not for concurrent use. */
    void attention(int layer, int position, int queryHeads, float[] q, float[] out);

    /** Length 0, all blocks released, reservation and token history dropped. */
    void clear();

    /**
     * Rolls back to {@code n} committed positions and cancels any reservation. Blocks past the new end
     * are released; a shared block that now ends the sequence is copied on the next {@link #reserve}.
     *
     * @throws IllegalArgumentException if {@code n < 0 || n > length()}, or the positions needed after
     *     the rollback were already dropped by the sliding window
     * @throws SequencePreemptedException if {@code n > 0} and the sequence was preempted
     */
    void truncate(int n);

    /**
     * A new sequence with the same committed positions, sharing blocks copy-on-write. Counts against
     * {@code maxSequences}.
     *
     * @throws IllegalStateException if positions are reserved but not yet advanced
     * @throws CacheFullException if {@code maxSequences} sequences are open
     */
    KvSequence fork();

    /**
     * Whether the K/V were dropped under memory pressure (see {@link CacheStrategy#ADAPTIVE}). Another
     * thread may preempt an idle sequence at any time; every call on it then throws
     * {@link SequencePreemptedException} until the owner resumes it with {@link #reserve} or {@link #clear}.
     */
    boolean isPreempted();

    /** The geometry of the cache this sequence lives in. */
    KvCacheSpec spec();

    /** The strategy of the cache this sequence lives in (an engine asks it whether to recompute). */
    CacheStrategy strategy();

    /** Idempotent; frees blocks (full blocks with known ids stay prefix-cached). */
    @Override
    void close();
}
