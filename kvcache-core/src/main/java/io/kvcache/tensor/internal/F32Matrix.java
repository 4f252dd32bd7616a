package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.vector.FloatDots;
import java.lang.foreign.MemorySegment;

/** IEEE single precision. Immutable, thread-safe. */
final class F32Matrix extends BlockMatrix {
    F32Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.F32, data, rows, cols);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        MemorySegment.copy(data, Le.FLOAT, offset, dst, dstOffset, cols);
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        double sum = 0;
        for (int i = 0; i < cols; i++) {
            sum += data.get(Le.FLOAT, offset + 4L * i) * x[xOffset + i];
        }
        return (float) sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        return FloatDots.f32(data, offset, cols, x, xOffset);
    }
}
