package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.vector.KQuantDots;
import java.lang.foreign.MemorySegment;

/**
 * Q5_K: super-blocks of 256 elements,
 * {@code {f16 d; f16 dmin; uint8 scales[12]; uint8 qh[32]; uint8 qs[128]}} (176 bytes). Like
 * Q4_K, plus a fifth bit per element: element {@code l} of sub-block {@code s} adds 16 when bit
 * {@code s} of {@code qh[l]} is set. Immutable, thread-safe.
 */
final class Q5_KMatrix extends BlockMatrix {
    static final int BLOCK_BYTES = 176;

    Q5_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q5_K, data, rows, cols);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES) {
            float d = Le.f16(data, offset);
            float dmin = Le.f16(data, offset + 2);
            long scales = offset + 4;
            long qh = offset + 16;
            long qs = offset + 48;
            for (int c = 0; c < 4; c++, qs += 32, dstOffset += 64) {
                float d1 = d * KScales.scale(data, scales, 2 * c);
                float m1 = dmin * KScales.min(data, scales, 2 * c);
                float d2 = d * KScales.scale(data, scales, 2 * c + 1);
                float m2 = dmin * KScales.min(data, scales, 2 * c + 1);
                int u1 = 1 << (2 * c);
                int u2 = 2 << (2 * c);
                for (int l = 0; l < 32; l++) {
                    int q = Le.u8(data, qs + l);
                    int h = Le.u8(data, qh + l);
                    dst[dstOffset + l] = d1 * ((q & 0xF) + ((h & u1) != 0 ? 16 : 0)) - m1;
                    dst[dstOffset + 32 + l] = d2 * ((q >>> 4) + ((h & u2) != 0 ? 16 : 0)) - m2;
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
            long qh = offset + 16;
            long qs = offset + 48;
            for (int c = 0; c < 4; c++, qs += 32, xOffset += 64) {
                float q1 = 0;
                float q2 = 0;
                float x1 = 0;
                float x2 = 0;
                int shift = 2 * c;
                for (int l = 0; l < 32; l++) {
                    int q = Le.u8(data, qs + l);
                    int h = Le.u8(data, qh + l) >>> shift;
                    float a = x[xOffset + l];
                    float bb = x[xOffset + 32 + l];
                    q1 += ((q & 0xF) | ((h & 1) << 4)) * a;
                    q2 += ((q >>> 4) | ((h & 2) << 3)) * bb;
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
        return KQuantDots.q5_k(data, offset, blocks, x, xOffset);
    }
}
