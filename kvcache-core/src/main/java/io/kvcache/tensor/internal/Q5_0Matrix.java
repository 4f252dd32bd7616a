package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import java.lang.foreign.MemorySegment;

/**
 * Q5_0: blocks of 32 elements, {@code {f16 d; uint32 qh; uint8 qs[16]}} (22 bytes). Element
 * {@code j < 16} takes the low nibble of {@code qs[j]} and bit {@code j} of {@code qh} as its fifth
 * bit; element {@code j + 16} the high nibble and bit {@code j + 16}; {@code y = (q - 16) * d}.
 * llama.cpp uses it for tensors whose rows are not a multiple of 256 in K-quant files.
 * Immutable, thread-safe. No vector kernel yet: both dot paths are scalar.
 */
final class Q5_0Matrix extends BlockMatrix {
    static final int BLOCK_BYTES = 22;

    Q5_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q5_0, data, rows, cols);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES, dstOffset += 32) {
            float d = Le.f16(data, offset);
            int qh = Le.i32(data, offset + 2);
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, offset + 6 + j);
                dst[dstOffset + j] = (((q & 0xF) | ((qh >>> j) << 4 & 0x10)) - 16) * d;
                dst[dstOffset + j + 16] = (((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16) * d;
            }
        }
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        float sum = 0;
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES, xOffset += 32) {
            int qh = Le.i32(data, offset + 2);
            float s = 0;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, offset + 6 + j);
                s += (((q & 0xF) | ((qh >>> j) << 4 & 0x10)) - 16) * x[xOffset + j];
                s += (((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16) * x[xOffset + j + 16];
            }
            sum += s * Le.f16(data, offset);
        }
        return sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        return scalarDot(offset, x, xOffset);
    }
}
