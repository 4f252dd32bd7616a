package io.kvcache.cache.internal;

import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvElementType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * Grouped-query attention for one query position over the blocks of a block table, and row reads.
 * Reads K/V in their stored type with the {@link Kernels}: F32 and Q8_0 rows straight from the
 * segment (Q8_0 widened in registers), F16 rows converted into a scratch row first. The softmax subtracts the maximum score and
 * sums in double; the weighted V sum accumulates in float. Allocates nothing.
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

    public PagedAttention(KvCacheSpec spec, BlockPool pool, Kernels kernels, int window, int sinks) {
        this.spec = spec;
        this.pool = pool;
        this.kernels = kernels;
        this.window = window;
        this.sinks = sinks;
        this.blockSize = spec.blockSize();
        this.headDim = spec.headDim();
        this.scale = (float) (1.0 / Math.sqrt(headDim));
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
     * Writes attention outputs of query heads [headFrom, headTo) into {@code out}; arguments are
     * validated by the caller and {@link #firstMissing} must have returned -1.
     */
    public void attend(int[] table, int layer, int position, int queryHeads, float[] q, int qOff, float[] out,
                       int outOff, int headFrom, int headTo, float[] scratch) {
        int windowStart = windowStart(position);
        int sinkEnd = Math.min(sinks, windowStart);
        int count = sinkEnd + position + 1 - windowStart;
        int row = scratchSize() - headDim;
        int group = queryHeads / spec.kvHeads();
        for (int h = headFrom; h < headTo; h++) {
            int kvHead = h / group;
            int qo = qOff + h * headDim;
            int oo = outOff + h * headDim;
            int at = scores(table, layer, kvHead, q, qo, 0, sinkEnd, scratch, 0, row);
            scores(table, layer, kvHead, q, qo, windowStart, position + 1, scratch, at, row);
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < count; i++) {
                max = Math.max(max, scratch[i]);
            }
            double sum = 0;
            for (int i = 0; i < count; i++) {
                float e = (float) Math.exp(scratch[i] - max);
                scratch[i] = e;
                sum += e;
            }
            float inverse = (float) (1.0 / sum);
            for (int i = 0; i < count; i++) {
                scratch[i] *= inverse;
            }
            Arrays.fill(out, oo, oo + headDim, 0f);
            at = values(table, layer, kvHead, 0, sinkEnd, scratch, 0, out, oo, row);
            values(table, layer, kvHead, windowStart, position + 1, scratch, at, out, oo, row);
        }
    }

    /** Writes scaled q·k for positions [from, to) into scratch[at..]; returns the next index. */
    private int scores(int[] table, int layer, int head, float[] q, int qo, int from, int to, float[] scratch, int at,
                       int row) {
        KvElementType type = spec.keyType();
        long stride = pool.keyRowBytes();
        int position = from;
        while (position < to) {
            int idx = position / blockSize;
            int end = Math.min(to, (idx + 1) * blockSize);
            int block = table[idx];
            MemorySegment segment = pool.segment(block);
            long offset = pool.blockBase(block) + pool.keyOffset(layer, head, position - idx * blockSize);
            if (type == KvElementType.F32) {
                for (; position < end; position++, offset += stride) {
                    scratch[at++] = kernels.dot(q, qo, segment, offset, headDim) * scale;
                }
            } else if (type == KvElementType.Q8_0) {
                for (; position < end; position++, offset += stride) {
                    scratch[at++] = kernels.dotQ8(q, qo, segment, offset, headDim) * scale;
                }
            } else {
                for (; position < end; position++, offset += stride) {
                    RowCodec.decode(type, segment, offset, headDim, scratch, row);
                    scratch[at++] = kernels.dot(q, qo, scratch, row, headDim) * scale;
                }
            }
        }
        return at;
    }

    /** Adds weights[at..] times V of positions [from, to) to out[oo..]; returns the next index. */
    private int values(int[] table, int layer, int head, int from, int to, float[] weights, int at, float[] out, int oo,
                       int row) {
        KvElementType type = spec.valueType();
        long stride = pool.valueRowBytes();
        int position = from;
        while (position < to) {
            int idx = position / blockSize;
            int end = Math.min(to, (idx + 1) * blockSize);
            int block = table[idx];
            MemorySegment segment = pool.segment(block);
            long offset = pool.blockBase(block) + pool.valueOffset(layer, head, position - idx * blockSize);
            if (type == KvElementType.F32) {
                for (; position < end; position++, offset += stride) {
                    kernels.axpy(weights[at++], segment, offset, out, oo, headDim);
                }
            } else if (type == KvElementType.Q8_0) {
                for (; position < end; position++, offset += stride) {
                    kernels.axpyQ8(weights[at++], segment, offset, out, oo, headDim);
                }
            } else {
                for (; position < end; position++, offset += stride) {
                    RowCodec.decode(type, segment, offset, headDim, weights, row);
                    kernels.axpy(weights[at++], weights, row, out, oo, headDim);
                }
            }
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
