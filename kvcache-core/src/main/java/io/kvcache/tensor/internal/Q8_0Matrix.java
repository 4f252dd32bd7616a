package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.vector.LegacyQuantDots;
import io.kvcache.tensor.internal.vector.Q8ActivationDots;
import java.lang.foreign.MemorySegment;

/**
 * Q8_0: blocks of 32 elements, {@code {f16 d; int8 qs[32]}} (34 bytes); {@code y = d * q}.
 * Immutable, thread-safe.
 */
final class Q8_0Matrix extends BlockMatrix {
    static final int BLOCK_BYTES = 34;

    Q8_0Matrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q8_0, data, rows, cols);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES, dstOffset += 32) {
            float d = Le.f16(data, offset);
            for (int j = 0; j < 32; j++) {
                dst[dstOffset + j] = Le.s8(data, offset + 2 + j) * d;
            }
        }
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        float sum = 0;
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES, xOffset += 32) {
            float s = 0;
            for (int j = 0; j < 32; j++) {
                s += Le.s8(data, offset + 2 + j) * x[xOffset + j];
            }
            sum += s * Le.f16(data, offset);
        }
        return sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        return LegacyQuantDots.q8_0(data, offset, blocks, x, xOffset);
    }

    @Override
    public boolean quantizesActivations() {
        return true;
    }

    @Override
    protected int quantizedBlockSum(long offset, short[] xq, int at) {
        int s = 0;
        for (int j = 0; j < 32; j++) {
            s += Le.s8(data, offset + 2 + j) * xq[at + j];
        }
        return s;
    }

    @Override
    protected void quantizedDotRows(long offset, int count, QuantizedActivations x, float[] out, int outOffset) {
        Q8ActivationDots.q8_0(data, offset, rowBytes, count, blocks, x.quants(), x.scales(), out, outOffset);
    }

    @Override
    protected void quantizedDotRowsPair(long offset, int count, QuantizedActivations x0, float[] out0, int out0Offset,
            QuantizedActivations x1, float[] out1, int out1Offset) {
        Q8ActivationDots.q8_0Pair(data, offset, rowBytes, count, blocks, x0.quants(), x0.scales(), x1.quants(),
                x1.scales(), out0, out0Offset, out1, out1Offset);
    }
}
