package io.kvcache.cache.internal;

import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvElementType;
import io.kvcache.tensor.internal.Expf;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Grouped-query attention for one query position (or, through {@code MultiQueryAttention}, a run of
 * consecutive positions) over the blocks of a block table, and row reads.
 * Reads K/V in their stored type with the {@link Kernels}: F32 and Q8_0 rows straight from the
 * segment (Q8_0 widened in registers), F16 rows converted into a scratch row first. Query heads that
 * share a KV head (grouped-query attention) are served from one read of each K/V row when the scratch
 * has room for their scores ({@link #groupedScratchSize}). Each block's rows go to the kernels as one run
 * ({@link Kernels#scores}, {@link Kernels#weightedSum}). The softmax subtracts the maximum score,
 * exponentiates with llama.cpp's {@link Expf} and sums in double; the weighted V sum accumulates in
 * float. Allocates nothing.
 *
 * <p>Thread-safe (stateless apart from its configuration); callers guarantee the table's blocks do
 * not change during a call.
 */
public final class PagedAttention {
    private final KvCacheSpec spec;
    private final BlockPool pool;
    private final Kernels kernels;
    private final int window;
    private final int sinks;
    private final int blockSize;
    private final int headDim;
    private final float scale;
    private final MultiQueryAttention multiQuery;
    /** F16-rounded queries (see {@link #attend}); per thread because attention runs concurrently. */
    private static final ThreadLocal<float[]> ROUNDED_QUERY = ThreadLocal.withInitial(() -> new float[0]);

    public PagedAttention(KvCacheSpec spec, BlockPool pool, Kernels kernels, int window, int sinks) {
        this.spec = spec;
        this.pool = pool;
        this.kernels = kernels;
        this.window = window;
        this.sinks = sinks;
        this.blockSize = spec.blockSize();
        this.headDim = spec.headDim();
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.multiQuery = new MultiQueryAttention(this, spec, pool, kernels, sinks);
    }

    /** Floats of scratch one call needs: a score per visible position plus one dequantized row. */
    public int scratchSize() {
        int visible = window > 0 ? (int) Math.min(spec.contextLength(), (long) window + sinks) : spec.contextLength();
        return visible + headDim;
    }

    /** First position visible from {@code position} (without sinks). */
    public int windowStart(int position) {
        return window > 0 ? Math.max(0, position - window + 1) : 0;
    }

    /** The first visible position from {@code position} whose block is missing, or -1 if all are present. */
    public int firstMissing(int[] table, int position) {
        int windowStart = windowStart(position);
        int sinkEnd = Math.min(sinks, windowStart);
        int missing = firstMissing(table, 0, sinkEnd);
        return missing >= 0 ? missing : firstMissing(table, windowStart, position + 1);
    }

    private int firstMissing(int[] table, int from, int to) {
        for (int idx = from / blockSize; from < to && idx <= (to - 1) / blockSize; idx++) {
            if (table[idx] < 0) {
                return Math.max(from, idx * blockSize);
            }
        }
        return -1;
    }

    /**
     * Floats of scratch with which {@link #attend} handles all {@code queryHeads / kvHeads} query heads
     * that share a KV head in one pass over its K/V (read once instead of once per query head).
     */
    public int groupedScratchSize(int queryHeads) {
        long size = (long) (scratchSize() - headDim) * Math.max(1, queryHeads / spec.kvHeads()) + headDim;
        return (int) Math.min(Integer.MAX_VALUE - 8, size);
    }

    /**
     * Writes attention outputs of query heads [headFrom, headTo) into {@code out}; arguments are
     * validated by the caller and {@link #firstMissing} must have returned -1. Query heads sharing a
     * KV head are processed together, as many at a time as {@code scratch} holds score rows for.
     */
    public void attend(int[] table, int layer, int position, int queryHeads, float[] q, int qOff, float[] out,
                       int outOff, int headFrom, int headTo, float[] scratch) {
        int windowStart = windowStart(position);
        int sinkEnd = Math.min(sinks, windowStart);
        int count = sinkEnd + position + 1 - windowStart;
        int row = scratch.length - headDim;
        int perPass = Math.max(1, row / count);
        int group = queryHeads / spec.kvHeads();
        int h = headFrom;
        while (h < headTo) {
            int kvHead = h / group;
            int heads = Math.min(perPass, Math.min(headTo, (kvHead + 1) * group) - h);
            float[] query = q;
            int qo = qOff + h * headDim;
            if (spec.keyType() == KvElementType.F16) {
                query = roundedToF16(q, qo, heads * headDim);
                qo = 0;
            }
            int oo = outOff + h * headDim;
            int at = scores(table, layer, kvHead, query, qo, heads, 0, sinkEnd, scratch, count, 0, row);
            scores(table, layer, kvHead, query, qo, heads, windowStart, position + 1, scratch, count, at, row);
            for (int j = 0; j < heads; j++) {
                softmax(scratch, j * count, count);
            }
            Arrays.fill(out, oo, oo + heads * headDim, 0f);
            at = values(table, layer, kvHead, heads, 0, sinkEnd, scratch, count, 0, out, oo, row);
            values(table, layer, kvHead, heads, windowStart, position + 1, scratch, count, at, out, oo, row);
            h += heads;
        }
    }

    /**
     * Floats of scratch with which {@link #attendRun} serves {@code count} positions of all query heads
     * of a KV group in one walk over the blocks; at least {@link #scratchSize()}.
     */
    public int runScratchSize(int queryHeads, int count) {
        return multiQuery.scratchSize(queryHeads, count);
    }

    /**
     * {@link #attend} for the {@code count} consecutive positions {@code first ..}, position
     * {@code first + i} with its query at {@code qOff + i * qStride} and output at
     * {@code outOff + i * outStride}, bit-identical to {@code count} calls of {@link #attend} but reading
     * (and widening) each K/V block once per run of queries ({@code MultiQueryAttention}). Arguments are
     * validated by the caller, {@link #firstMissing} returned -1 for every position and {@code scratch}
     * holds at least {@link #scratchSize()} floats.
     */
    public void attendRun(int[] table, int layer, int first, int count, int queryHeads, float[] q, int qOff,
                          int qStride, float[] out, int outOff, int outStride, int headFrom, int headTo,
                          float[] scratch) {
        multiQuery.attend(table, layer, first, count, queryHeads, q, qOff, qStride, out, outOff, outStride, headFrom,
                headTo, scratch);
    }

    /**
     * The query as llama.cpp's F16 matrix product sees it: rounded to F16 before meeting F16 keys.
     * Likewise {@link #values} rounds the attention weights before they meet F16 values. Without
     * this, logits with an F16 cache drift from llama.cpp's by ~5e-3 instead of ~1e-4.
     */
    private static float[] roundedToF16(float[] q, int from, int n) {
        float[] r = ROUNDED_QUERY.get();
        if (r.length < n) {
            r = new float[n];
            ROUNDED_QUERY.set(r);
        }
        for (int i = 0; i < n; i++) {
            r[i] = Float.float16ToFloat(Float.floatToFloat16(q[from + i]));
        }
        return r;
    }

    /**
     * In place: subtract the maximum (stability), exponentiate, normalize; the sum is kept in double.
     * With F16 values the weights are rounded to F16, as llama.cpp's F16 product of weights and V does.
     */
    void softmax(float[] scores, int from, int count) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = from; i < from + count; i++) {
            max = Math.max(max, scores[i]);
        }
        float inverse = (float) (1.0 / kernels.expShifted(scores, from, count, max));
        if (spec.valueType() == KvElementType.F16) {
            for (int i = from; i < from + count; i++) {
                scores[i] = Float.float16ToFloat(Float.floatToFloat16(scores[i] * inverse));
            }
        } else {
            for (int i = from; i < from + count; i++) {
                scores[i] *= inverse;
            }
        }
    }

    /**
     * Writes scaled q·k of {@code heads} consecutive query heads (at {@code qo}, {@code qo+headDim}, ...)
     * for positions [from, to) into scratch[j*stride + at ..]; returns the next {@code at}.
     */
    private int scores(int[] table, int layer, int head, float[] q, int qo, int heads, int from, int to,
                       float[] scratch, int stride, int at, int row) {
        KvElementType type = spec.keyType();
        long rowBytes = pool.keyRowBytes();
        int position = from;
        while (position < to) {
            int idx = position / blockSize;
            int end = Math.min(to, (idx + 1) * blockSize);
            int block = table[idx];
            MemorySegment segment = pool.segment(block);
            long offset = pool.blockBase(block) + pool.keyOffset(layer, head, position - idx * blockSize);
            int rows = end - position;
            kernels.scores(type, q, qo, heads, segment, offset, rowBytes, rows, headDim, scale, scratch, at, stride,
                    scratch, row);
            position = end;
            at += rows;
        }
        return at;
    }

    /**
     * Adds weights[j*stride + at ..] times V of positions [from, to) to the outputs of {@code heads}
     * consecutive query heads at {@code oo}; returns the next {@code at}.
     */
    private int values(int[] table, int layer, int head, int heads, int from, int to, float[] weights, int stride,
                       int at, float[] out, int oo, int row) {
        KvElementType type = spec.valueType();
        long rowBytes = pool.valueRowBytes();
        int position = from;
        while (position < to) {
            int idx = position / blockSize;
            int end = Math.min(to, (idx + 1) * blockSize);
            int block = table[idx];
            MemorySegment segment = pool.segment(block);
            long offset = pool.blockBase(block) + pool.valueOffset(layer, head, position - idx * blockSize);
            int rows = end - position;
            kernels.weightedSum(type, weights, at, stride, heads, segment, offset, rowBytes, rows, headDim, out, oo,
                    weights, row);
            position = end;
            at += rows;
        }
        return at;
    }

    /** Dequantizes the K (or V) of every KV head at (block, layer, slot) into dst[off .. off+kvDim). */
    public void readRow(boolean key, int block, int layer, int slot, float[] dst, int off) {
        MemorySegment segment = pool.segment(block);
        long base = pool.blockBase(block);
        for (int head = 0; head < spec.kvHeads(); head++) {
            if (key) {
                RowCodec.decode(spec.keyType(), segment, base + pool.keyOffset(layer, head, slot), headDim,
                        dst, off + head * headDim);
            } else {
                RowCodec.decode(spec.valueType(), segment, base + pool.valueOffset(layer, head, slot), headDim,
                        dst, off + head * headDim);
            }
        }
    }

    /** Encodes K and V of every KV head at (block, layer, slot). */
    public void writeRow(int block, int layer, int slot, float[] k, int kOffset, float[] v, int vOffset) {
        MemorySegment segment = pool.segment(block);
        long base = pool.blockBase(block);
        for (int head = 0; head < spec.kvHeads(); head++) {
            RowCodec.encode(spec.keyType(), k, kOffset + head * headDim, headDim, segment,
                    base + pool.keyOffset(layer, head, slot));
            RowCodec.encode(spec.valueType(), v, vOffset + head * headDim, headDim, segment,
                    base + pool.valueOffset(layer, head, slot));
        }
    }
}
