package io.kvcache.cache.internal;

import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvElementType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Attention for a run of consecutive query positions of one sequence (the rows of a prompt) in one
 * walk over the K/V blocks per KV head: each block's K (then V) rows are read once, F16 rows widened
 * once, for every query of the run, instead of once per query. Causal: the query at position
 * {@code p} sees only what {@link PagedAttention#attend} would show it (positions {@code <= p}, with
 * a sliding window its sinks and window).
 *
 * <p>Per query the arithmetic is exactly {@link PagedAttention#attend}'s: the same kernels score each
 * (query, row) pair on its own, its softmax runs over its own score row, and its weighted V sum
 * visits its positions in the same ascending order (the kernels' accumulation does not depend on how
 * a position range is cut into calls), so the results are bit-identical.
 *
 * <p>Scratch layout of one walk over {@code queries} positions and {@code heads} query heads of one
 * KV group, with {@code stride} = what the last position sees: score rows ({@code queries * heads *
 * stride}), F16-rounded queries ({@code queries * heads * headDim}), one widened block
 * ({@code blockSize * headDim}). With less scratch a walk takes fewer queries or heads; below one
 * query and one head it falls back to {@link PagedAttention#attend} per position.
 *
 * <p>Thread-safe (stateless apart from its configuration); callers guarantee the table's blocks do
 * not change during a call. Allocates nothing.
 */
final class MultiQueryAttention {
    private final PagedAttention single;
    private final KvCacheSpec spec;
    private final BlockPool pool;
    private final Kernels kernels;
    private final int sinks;
    private final int blockSize;
    private final int headDim;
    private final float scale;

    MultiQueryAttention(PagedAttention single, KvCacheSpec spec, BlockPool pool, Kernels kernels, int sinks) {
        this.single = single;
        this.spec = spec;
        this.pool = pool;
        this.kernels = kernels;
        this.sinks = sinks;
        this.blockSize = spec.blockSize();
        this.headDim = spec.headDim();
        this.scale = (float) (1.0 / Math.sqrt(headDim));
    }

    /** Floats of scratch that serve {@code count} positions of a whole KV group in one walk. */
    int scratchSize(int queryHeads, int count) {
        int group = Math.max(1, queryHeads / spec.kvHeads());
        long size = (long) count * group * (single.scratchSize()) + (long) blockSize * headDim;
        return (int) Math.max(single.scratchSize(), Math.min(Integer.MAX_VALUE - 8, size));
    }

    /** See {@link PagedAttention#attendRun}. */
    void attend(int[] table, int layer, int first, int count, int queryHeads, float[] q, int qOff, int qStride,
                float[] out, int outOff, int outStride, int headFrom, int headTo, float[] scratch) {
        int group = queryHeads / spec.kvHeads();
        int stride = visibleCount(first + count - 1);
        int available = scratch.length - blockSize * headDim;
        int h = headFrom;
        while (h < headTo) {
            int kvHead = h / group;
            int groupEnd = Math.min(headTo, (kvHead + 1) * group);
            int heads = Math.min(groupEnd - h, Math.max(0, available) / (stride + headDim));
            if (heads == 0) {
                for (int i = 0; i < count; i++) {
                    single.attend(table, layer, first + i, queryHeads, q, qOff + i * qStride, out,
                            outOff + i * outStride, h, groupEnd, scratch);
                }
                h = groupEnd;
                continue;
            }
            int perWalk = Math.max(1, available / (heads * (stride + headDim)));
            for (int done = 0; done < count; done += perWalk) {
                int queries = Math.min(perWalk, count - done);
                walk(table, layer, first + done, queries, kvHead, h, heads, q, qOff + done * qStride, qStride,
                        out, outOff + done * outStride, outStride, scratch, visibleCount(first + done + queries - 1));
            }
            h += heads;
        }
    }

    /** Positions the query at {@code position} sees: its sinks plus its window (or everything up to it). */
    private int visibleCount(int position) {
        int windowStart = single.windowStart(position);
        return Math.min(sinks, windowStart) + position + 1 - windowStart;
    }

    private void walk(int[] table, int layer, int first, int queries, int kvHead, int h, int heads, float[] q,
                      int qOff, int qStride, float[] out, int outOff, int outStride, float[] scratch, int stride) {
        int last = first + queries - 1;
        int rounded = queries * heads * stride;
        int widened = rounded + queries * heads * headDim;
        boolean f16Keys = spec.keyType() == KvElementType.F16;
        if (f16Keys) {
            // The query as llama.cpp's F16 product sees it (as PagedAttention.attend rounds it).
            for (int i = 0; i < queries; i++) {
                int from = qOff + i * qStride + h * headDim;
                int to = rounded + i * heads * headDim;
                for (int e = 0; e < heads * headDim; e++) {
                    scratch[to + e] = Float.float16ToFloat(Float.floatToFloat16(q[from + e]));
                }
            }
        }
        // The union of what the queries see: the last one's sinks, and the first one's window onwards.
        int firstWindowStart = single.windowStart(first);
        int sinkEnd = Math.min(Math.min(sinks, single.windowStart(last)), firstWindowStart);
        for (int pass = 0; pass < 2; pass++) {
            boolean keys = pass == 0;
            if (!keys) {
                for (int i = 0; i < queries; i++) {
                    int base = i * heads * stride;
                    int count = visibleCount(first + i);
                    for (int j = 0; j < heads; j++) {
                        single.softmax(scratch, base + j * stride, count);
                    }
                    int oo = outOff + i * outStride + h * headDim;
                    Arrays.fill(out, oo, oo + heads * headDim, 0f);
                }
            }
            float[] query = f16Keys ? scratch : q;
            int queryOff = f16Keys ? rounded : qOff + h * headDim;
            int queryStride = f16Keys ? heads * headDim : qStride;
            blocks(table, layer, kvHead, keys, 0, sinkEnd, first, queries, heads, query, queryOff, queryStride,
                    out, outOff + h * headDim, outStride, scratch, stride, widened);
            blocks(table, layer, kvHead, keys, firstWindowStart, last + 1, first, queries, heads, query, queryOff,
                    queryStride, out, outOff + h * headDim, outStride, scratch, stride, widened);
        }
    }

    /**
     * Scores (keys) or weighted V sums (values) of every query against positions [from, to), block by
     * block: each block's rows read (and widened) once, then each query takes the rows it sees.
     * Query i's heads are at {@code query[queryOff + i * queryStride ..]}, its outputs at
     * {@code out[outOff + i * outStride ..]}, its score rows at {@code scratch[i * heads * stride ..]}.
     */
    private void blocks(int[] table, int layer, int kvHead, boolean keys, int from, int to, int first, int queries,
                        int heads, float[] query, int queryOff, int queryStride, float[] out, int outOff,
                        int outStride, float[] scratch, int stride, int widened) {
        KvElementType type = keys ? spec.keyType() : spec.valueType();
        long rowBytes = keys ? pool.keyRowBytes() : pool.valueRowBytes();
        for (int position = from; position < to; ) {
            int idx = position / blockSize;
            int end = Math.min(to, (idx + 1) * blockSize);
            int block = table[idx];
            MemorySegment segment = pool.segment(block);
            int slot = position - idx * blockSize;
            long offset = pool.blockBase(block)
                    + (keys ? pool.keyOffset(layer, kvHead, slot) : pool.valueOffset(layer, kvHead, slot));
            if (type == KvElementType.F16) {
                kernels.widenF16(segment, offset, rowBytes, end - position, headDim, scratch, widened);
            }
            for (int i = 0; i < queries; i++) {
                int p = first + i;
                int windowStart = single.windowStart(p);
                int sinkEnd = Math.min(sinks, windowStart);
                // This query's sinks in the block, then its window in the block (both as score indices).
                int x0 = position;
                int x1 = Math.min(end, sinkEnd);
                for (int part = 0; part < 2; part++) {
                    if (x0 < x1) {
                        int at = i * heads * stride + (part == 0 ? x0 : sinkEnd + x0 - windowStart);
                        int rows = x1 - x0;
                        int qo = queryOff + i * queryStride;
                        int oo = outOff + i * outStride;
                        if (type == KvElementType.F16) {
                            int rowsAt = widened + (x0 - position) * headDim;
                            if (keys) {
                                kernels.scoresWidened(query, qo, heads, scratch, rowsAt, rows, headDim, scale,
                                        scratch, at, stride);
                            } else {
                                kernels.weightedSumWidened(scratch, at, stride, heads, scratch, rowsAt, rows, headDim,
                                        out, oo);
                            }
                        } else {
                            long rowOffset = offset + (x0 - position) * rowBytes;
                            if (keys) {
                                kernels.scores(type, query, qo, heads, segment, rowOffset, rowBytes, rows, headDim,
                                        scale, scratch, at, stride, scratch, widened);
                            } else {
                                kernels.weightedSum(type, scratch, at, stride, heads, segment, rowOffset, rowBytes,
                                        rows, headDim, out, oo, scratch, widened);
                            }
                        }
                    }
                    x0 = Math.max(position, windowStart);
                    x1 = Math.min(end, p + 1);
                }
            }
            position = end;
        }
    }
}
