package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.vector.FloatDots;
import java.lang.foreign.MemorySegment;

/** bfloat16: the top 16 bits of an IEEE single. Immutable, thread-safe. */
final class BF16Matrix extends BlockMatrix {
    BF16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.BF16, data, rows, cols);
    }

    static float bf16(MemorySegment seg, long offset) {
        return Float.intBitsToFloat(seg.get(Le.SHORT, offset) << 16);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        for (int i = 0; i < cols; i++) {
            dst[dstOffset + i] = bf16(data, offset + 2L * i);
        }
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        double sum = 0;
        for (int i = 0; i < cols; i++) {
            sum += bf16(data, offset + 2L * i) * x[xOffset + i];
        }
        return (float) sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        return FloatDots.bf16(data, offset, cols, x, xOffset);
    }
}
