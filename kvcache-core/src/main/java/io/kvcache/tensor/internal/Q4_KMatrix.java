package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.vector.KQuantDots;
import java.lang.foreign.MemorySegment;

/**
 * Q4_K: super-blocks of 256 elements, {@code {f16 d; f16 dmin; uint8 scales[12]; uint8 qs[128]}}
 * (144 bytes), eight sub-blocks of 32 with 6-bit scale and min ({@link KScales}). Each 64-element
 * chunk {@code c} uses bytes {@code qs[32c .. 32c+32)}: low nibbles for sub-block {@code 2c}, high
 * nibbles for {@code 2c+1}; {@code y = d*sc * q - dmin*m}. Immutable, thread-safe.
 */
final class Q4_KMatrix extends BlockMatrix {
    static final int BLOCK_BYTES = 144;

    Q4_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q4_K, data, rows, cols);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES) {
            float d = Le.f16(data, offset);
            float dmin = Le.f16(data, offset + 2);
            long scales = offset + 4;
            long qs = offset + 16;
            for (int c = 0; c < 4; c++, qs += 32, dstOffset += 64) {
                float d1 = d * KScales.scale(data, scales, 2 * c);
                float m1 = dmin * KScales.min(data, scales, 2 * c);
                float d2 = d * KScales.scale(data, scales, 2 * c + 1);
                float m2 = dmin * KScales.min(data, scales, 2 * c + 1);
                for (int l = 0; l < 32; l++) {
                    int q = Le.u8(data, qs + l);
                    dst[dstOffset + l] = d1 * (q & 0xF) - m1;
                    dst[dstOffset + 32 + l] = d2 * (q >>> 4) - m2;
                }
            }
        }
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        float sum = 0;
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES) {
            float d = Le.f16(data, offset);
            float dmin = Le.f16(data, offset + 2);
            long scales = offset + 4;
            long qs = offset + 16;
            for (int c = 0; c < 4; c++, qs += 32, xOffset += 64) {
                float q1 = 0;
                float q2 = 0;
                float x1 = 0;
                float x2 = 0;
                for (int l = 0; l < 32; l++) {
                    int q = Le.u8(data, qs + l);
                    float a = x[xOffset + l];
                    float bb = x[xOffset + 32 + l];
                    q1 += (q & 0xF) * a;
                    q2 += (q >>> 4) * bb;
                    x1 += a;
                    x2 += bb;
                }
                sum += d * KScales.scale(data, scales, 2 * c) * q1 + d * KScales.scale(data, scales, 2 * c + 1) * q2
                        - dmin * KScales.min(data, scales, 2 * c) * x1 - dmin * KScales.min(data, scales, 2 * c + 1) * x2;
            }
        }
        return sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        return KQuantDots.q4_k(data, offset, blocks, x, xOffset);
    }
}
