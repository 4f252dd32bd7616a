package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * Q5_1: blocks of 32 elements, {@code {f16 d; f16 m; uint32 qh; uint8 qs[16]}} (24 bytes), bits laid
 * out as in Q5_0; {@code y = q * d + m}. Immutable, thread-safe. No vector kernel yet: both dot
 * paths are scalar.
 */
final class Q5_1Matrix extends BlockMatrix {
    static final int BLOCK_BYTES = 24;

    Q5_1Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q5_1, data, rows, cols);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES, dstOffset += 32) {
            float d = Le.f16(data, offset);
            float m = Le.f16(data, offset + 2);
            int qh = Le.i32(data, offset + 4);
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, offset + 8 + j);
                dst[dstOffset + j] = ((q & 0xF) | ((qh >>> j) << 4 & 0x10)) * d + m;
                dst[dstOffset + j + 16] = ((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) * d + m;
            }
        }
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        float sum = 0;
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES, xOffset += 32) {
            int qh = Le.i32(data, offset + 4);
            float sq = 0;
            float sx = 0;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, offset + 8 + j);
                float x0 = x[xOffset + j];
                float x1 = x[xOffset + j + 16];
                sq += ((q & 0xF) | ((qh >>> j) << 4 & 0x10)) * x0 + ((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) * x1;
                sx += x0 + x1;
            }
            sum += sq * Le.f16(data, offset) + sx * Le.f16(data, offset + 2);
        }
        return sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        return scalarDot(offset, x, xOffset);
    }
}
