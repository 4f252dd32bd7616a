package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.vector.LegacyQuantDots;
import java.lang.foreign.MemorySegment;

/**
 * Q4_1: blocks of 32 elements, {@code {f16 d; f16 m; uint8 qs[16]}} (20 bytes), nibbles laid out
 * as in Q4_0; {@code y = nibble * d + m}. Immutable, thread-safe.
 */
final class Q4_1Matrix extends BlockMatrix {
    static final int BLOCK_BYTES = 20;

    Q4_1Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_1, data, rows, cols);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES, dstOffset += 32) {
            float d = Le.f16(data, offset);
            float m = Le.f16(data, offset + 2);
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, offset + 4 + j);
                dst[dstOffset + j] = (q & 0xF) * d + m;
                dst[dstOffset + j + 16] = (q >>> 4) * d + m;
            }
        }
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        float sum = 0;
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES, xOffset += 32) {
            float sq = 0;
            float sx = 0;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, offset + 4 + j);
                float x0 = x[xOffset + j];
                float x1 = x[xOffset + j + 16];
                sq += (q & 0xF) * x0 + (q >>> 4) * x1;
                sx += x0 + x1;
            }
            sum += sq * Le.f16(data, offset) + sx * Le.f16(data, offset + 2);
        }
        return sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        return LegacyQuantDots.q4_1(data, offset, blocks, x, xOffset);
    }
}
