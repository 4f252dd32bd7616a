package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.vector.FloatDots;
import java.lang.foreign.MemorySegment;

/** IEEE half precision, widened exactly (like ggml's GGML_FP16_TO_FP32). Immutable, thread-safe. */
final class F16Matrix extends BlockMatrix {
    F16Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.F16, data, rows, cols);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        for (int i = 0; i < cols; i++) {
            dst[dstOffset + i] = Le.f16(data, offset + 2L * i);
        }
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        double sum = 0;
        for (int i = 0; i < cols; i++) {
            sum += Le.f16(data, offset + 2L * i) * x[xOffset + i];
        }
        return (float) sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        return FloatDots.f16(data, offset, cols, x, xOffset);
    }
}
