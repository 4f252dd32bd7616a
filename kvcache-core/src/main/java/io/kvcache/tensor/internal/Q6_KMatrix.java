package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.vector.KQuantDots;
import java.lang.foreign.MemorySegment;

/**
 * Q6_K: super-blocks of 256 elements, {@code {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d}}
 * (210 bytes). Each 128-element half uses 64 bytes of {@code ql} (4 low bits) and 32 of {@code qh}
 * (2 high bits, four elements per byte); {@code y = d * scale[e / 16] * (q - 32)}.
 * Immutable, thread-safe.
 */
final class Q6_KMatrix extends BlockMatrix {
    static final int BLOCK_BYTES = 210;

    Q6_KMatrix(MemorySegment data, int rows, int cols) {
        super(GgmlType.Q6_K, data, rows, cols);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES) {
            float d = Le.f16(data, offset + 208);
            for (int half = 0; half < 2; half++, dstOffset += 128) {
                long ql = offset + 64L * half;
                long qh = offset + 128 + 32L * half;
                long sc = offset + 192 + 8L * half;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    int lo = Le.u8(data, ql + l);
                    int hi = Le.u8(data, ql + 32 + l);
                    int h = Le.u8(data, qh + l);
                    int q1 = ((lo & 0xF) | ((h & 3) << 4)) - 32;
                    int q2 = ((hi & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
                    int q3 = ((lo >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                    int q4 = ((hi >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                    dst[dstOffset + l] = d * Le.s8(data, sc + is) * q1;
                    dst[dstOffset + l + 32] = d * Le.s8(data, sc + is + 2) * q2;
                    dst[dstOffset + l + 64] = d * Le.s8(data, sc + is + 4) * q3;
                    dst[dstOffset + l + 96] = d * Le.s8(data, sc + is + 6) * q4;
                }
            }
        }
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        float sum = 0;
        for (int b = 0; b < blocks; b++, offset += BLOCK_BYTES) {
            float d = Le.f16(data, offset + 208);
            for (int half = 0; half < 2; half++, xOffset += 128) {
                long ql = offset + 64L * half;
                long qh = offset + 128 + 32L * half;
                long sc = offset + 192 + 8L * half;
                // Each group of 16 consecutive elements shares one scale: sum per group, then scale.
                for (int g = 0; g < 8; g++) {
                    int quarter = g / 2;
                    int l0 = (g % 2) * 16;
                    long qlBase = ql + (quarter % 2) * 32L;
                    int nibbleShift = quarter >= 2 ? 4 : 0;
                    int hiShift = 2 * quarter;
                    float s = 0;
                    for (int l = l0; l < l0 + 16; l++) {
                        int q = (((Le.u8(data, qlBase + l) >>> nibbleShift) & 0xF)
                                | (((Le.u8(data, qh + l) >>> hiShift) & 3) << 4)) - 32;
                        s += q * x[xOffset + 32 * quarter + l];
                    }
                    sum += d * Le.s8(data, sc + (l0 / 16) + 2 * quarter) * s;
                }
            }
        }
        return sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        return KQuantDots.q6_k(data, offset, blocks, x, xOffset);
    }
}
