package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.vector.LegacyQuantDots;
import io.kvcache.tensor.internal.vector.Q8ActivationDots;
import java.lang.foreign.MemorySegment;

/**
 * Q4_0: blocks of 32 elements, {@code {f16 d; uint8 qs[16]}} (18 bytes). Byte {@code j} holds
 * element {@code j} in its low nibble and element {@code j + 16} in its high nibble;
 * {@code y = d * (nibble - 8)}. Immutable, thread-safe.
 */
final class Q4_0Matrix extends BlockMatrix {
    static final int BLOCK_BYTES = 18;

    Q4_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_0, data, rows, cols);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES, dstOffset += 32) {
            float d = Le.f16(data, offset);
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, offset + 2 + j);
                dst[dstOffset + j] = ((q & 0xF) - 8) * d;
                dst[dstOffset + j + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        float sum = 0;
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES, xOffset += 32) {
            float s = 0;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, offset + 2 + j);
                s += ((q & 0xF) - 8) * x[xOffset + j] + ((q >>> 4) - 8) * x[xOffset + j + 16];
            }
            sum += s * Le.f16(data, offset);
        }
        return sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        return LegacyQuantDots.q4_0(data, offset, blocks, x, xOffset);
    }

    @Override
    public boolean quantizesActivations() {
        return true;
    }

    @Override
    protected int quantizedBlockSum(long offset, short[] xq, int at) {
        int s = 0;
        for (int j = 0; j < 16; j++) {
            int q = Le.u8(data, offset + 2 + j);
            s += ((q & 0xF) - 8) * xq[at + j] + ((q >>> 4) - 8) * xq[at + j + 16];
        }
        return s;
    }

    @Override
    protected void quantizedDotRows(long offset, int count, QuantizedActivations x, float[] out, int outOffset) {
        Q8ActivationDots.q4_0(data, offset, rowBytes, count, blocks, x.quants(), x.scales(), x.q4_0Bias(),
                x.q4_0HighFactors(), out, outOffset);
    }
}
