package io.kvcache.tensor;

import io.kvcache.gguf.GgmlType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Straight transcriptions of ggml's {@code dequantize_row_*} (ggml-quants.c) over a ByteBuffer,
 * written independently of the production code so the tests compare two implementations.
 */
final class ReferenceDequant {
    private ReferenceDequant() {
    }

    static float[] dequantize(GgmlType type, byte[] bytes, int elements) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        float[] y = new float[elements];
        switch (type) {
            case F32 -> b.asFloatBuffer().get(y);
            case F16 -> {
                for (int i = 0; i < elements; i++) {
                    y[i] = halfToFloat(b.getShort(2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < elements; i++) {
                    y[i] = Float.intBitsToFloat((b.getShort(2 * i) & 0xFFFF) << 16);
                }
            }
            case Q8_0 -> {
                for (int i = 0; i < elements / 32; i++) {
                    int o = 34 * i;
                    float d = halfToFloat(b.getShort(o));
                    for (int j = 0; j < 32; j++) {
                        y[i * 32 + j] = b.get(o + 2 + j) * d;
                    }
                }
            }
            case Q4_0 -> {
                for (int i = 0; i < elements / 32; i++) {
                    int o = 18 * i;
                    float d = halfToFloat(b.getShort(o));
                    for (int j = 0; j < 16; j++) {
                        int x0 = (b.get(o + 2 + j) & 0x0F) - 8;
                        int x1 = ((b.get(o + 2 + j) & 0xFF) >> 4) - 8;
                        y[i * 32 + j] = x0 * d;
                        y[i * 32 + j + 16] = x1 * d;
                    }
                }
            }
            case Q4_1 -> {
                for (int i = 0; i < elements / 32; i++) {
                    int o = 20 * i;
                    float d = halfToFloat(b.getShort(o));
                    float m = halfToFloat(b.getShort(o + 2));
                    for (int j = 0; j < 16; j++) {
                        int x0 = b.get(o + 4 + j) & 0x0F;
                        int x1 = (b.get(o + 4 + j) & 0xFF) >> 4;
                        y[i * 32 + j] = x0 * d + m;
                        y[i * 32 + j + 16] = x1 * d + m;
                    }
                }
            }
            case Q5_0 -> {
                // ggml dequantize_row_q5_0
                for (int i = 0; i < elements / 32; i++) {
                    int o = 22 * i;
                    float d = halfToFloat(b.getShort(o));
                    int qh = b.getInt(o + 2);
                    for (int j = 0; j < 16; j++) {
                        int xh0 = ((qh >>> j) << 4) & 0x10;
                        int xh1 = (qh >>> (j + 12)) & 0x10;
                        int x0 = ((b.get(o + 6 + j) & 0x0F) | xh0) - 16;
                        int x1 = (((b.get(o + 6 + j) & 0xFF) >> 4) | xh1) - 16;
                        y[i * 32 + j] = x0 * d;
                        y[i * 32 + j + 16] = x1 * d;
                    }
                }
            }
            case Q5_1 -> {
                // ggml dequantize_row_q5_1
                for (int i = 0; i < elements / 32; i++) {
                    int o = 24 * i;
                    float d = halfToFloat(b.getShort(o));
                    float m = halfToFloat(b.getShort(o + 2));
                    int qh = b.getInt(o + 4);
                    for (int j = 0; j < 16; j++) {
                        int xh0 = ((qh >>> j) << 4) & 0x10;
                        int xh1 = (qh >>> (j + 12)) & 0x10;
                        int x0 = (b.get(o + 8 + j) & 0x0F) | xh0;
                        int x1 = ((b.get(o + 8 + j) & 0xFF) >> 4) | xh1;
                        y[i * 32 + j] = x0 * d + m;
                        y[i * 32 + j + 16] = x1 * d + m;
                    }
                }
            }
            case Q4_K -> {
                for (int i = 0; i < elements / 256; i++) {
                    int o = 144 * i;
                    float d = halfToFloat(b.getShort(o));
                    float min = halfToFloat(b.getShort(o + 2));
                    int q = o + 16;
                    int yi = i * 256;
                    int is = 0;
                    for (int j = 0; j < 256; j += 64) {
                        int[] sm = scaleMinK4(b, o + 4, is);
                        float d1 = d * sm[0];
                        float m1 = min * sm[1];
                        sm = scaleMinK4(b, o + 4, is + 1);
                        float d2 = d * sm[0];
                        float m2 = min * sm[1];
                        for (int l = 0; l < 32; ++l) {
                            y[yi++] = d1 * (b.get(q + l) & 0xF) - m1;
                        }
                        for (int l = 0; l < 32; ++l) {
                            y[yi++] = d2 * ((b.get(q + l) & 0xFF) >> 4) - m2;
                        }
                        q += 32;
                        is += 2;
                    }
                }
            }
            case Q5_K -> {
                for (int i = 0; i < elements / 256; i++) {
                    int o = 176 * i;
                    float d = halfToFloat(b.getShort(o));
                    float min = halfToFloat(b.getShort(o + 2));
                    int ql = o + 48;
                    int qh = o + 16;
                    int yi = i * 256;
                    int is = 0;
                    int u1 = 1;
                    int u2 = 2;
                    for (int j = 0; j < 256; j += 64) {
                        int[] sm = scaleMinK4(b, o + 4, is);
                        float d1 = d * sm[0];
                        float m1 = min * sm[1];
                        sm = scaleMinK4(b, o + 4, is + 1);
                        float d2 = d * sm[0];
                        float m2 = min * sm[1];
                        for (int l = 0; l < 32; ++l) {
                            y[yi++] = d1 * ((b.get(ql + l) & 0xF) + ((b.get(qh + l) & u1) != 0 ? 16 : 0)) - m1;
                        }
                        for (int l = 0; l < 32; ++l) {
                            y[yi++] = d2 * (((b.get(ql + l) & 0xFF) >> 4) + ((b.get(qh + l) & u2) != 0 ? 16 : 0)) - m2;
                        }
                        ql += 32;
                        is += 2;
                        u1 <<= 2;
                        u2 <<= 2;
                    }
                }
            }
            case Q6_K -> {
                for (int i = 0; i < elements / 256; i++) {
                    int o = 210 * i;
                    float d = halfToFloat(b.getShort(o + 208));
                    int ql = o;
                    int qh = o + 128;
                    int sc = o + 192;
                    int yi = i * 256;
                    for (int n = 0; n < 256; n += 128) {
                        for (int l = 0; l < 32; ++l) {
                            int is = l / 16;
                            int q1 = (byte) ((b.get(ql + l) & 0xF) | (((b.get(qh + l) >> 0) & 3) << 4)) - 32;
                            int q2 = (byte) ((b.get(ql + l + 32) & 0xF) | (((b.get(qh + l) >> 2) & 3) << 4)) - 32;
                            int q3 = (byte) (((b.get(ql + l) & 0xFF) >> 4) | (((b.get(qh + l) >> 4) & 3) << 4)) - 32;
                            int q4 = (byte) (((b.get(ql + l + 32) & 0xFF) >> 4) | (((b.get(qh + l) >> 6) & 3) << 4)) - 32;
                            y[yi + l] = d * b.get(sc + is) * q1;
                            y[yi + l + 32] = d * b.get(sc + is + 2) * q2;
                            y[yi + l + 64] = d * b.get(sc + is + 4) * q3;
                            y[yi + l + 96] = d * b.get(sc + is + 6) * q4;
                        }
                        yi += 128;
                        ql += 64;
                        qh += 32;
                        sc += 8;
                    }
                }
            }
            default -> throw new IllegalArgumentException(type.toString());
        }
        return y;
    }

    /** ggml's get_scale_min_k4: {scale, min}. */
    private static int[] scaleMinK4(ByteBuffer b, int q, int j) {
        if (j < 4) {
            return new int[] {b.get(q + j) & 63, b.get(q + j + 4) & 63};
        }
        int d = (b.get(q + j + 4) & 0xF) | (((b.get(q + j - 4) & 0xFF) >> 6) << 4);
        int m = ((b.get(q + j + 4) & 0xFF) >> 4) | (((b.get(q + j) & 0xFF) >> 6) << 4);
        return new int[] {d, m};
    }

    /** IEEE half to float by hand (sign, exponent, mantissa), independent of Float.float16ToFloat. */
    static float halfToFloat(short h) {
        int sign = (h >> 15) & 1;
        int exp = (h >> 10) & 0x1F;
        int mant = h & 0x3FF;
        double v;
        if (exp == 0) {
            v = mant * Math.pow(2, -24);
        } else if (exp == 31) {
            v = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            v = (1 + mant / 1024.0) * Math.pow(2, exp - 15);
        }
        return (float) (sign == 1 ? -v : v);
    }

    /** Whether products with {@code type} weights quantize the activation by default (llama.cpp's vec_dot_type Q8_0). */
    static boolean quantizesActivations(GgmlType type) {
        return type == GgmlType.Q8_0 || type == GgmlType.Q4_0;
    }

    /**
     * The inputs the kernels multiply with {@code type} weights by default: for Q8_0 and Q4_0,
     * {@code x} quantized per block of 32 like llama.cpp's AVX2 {@code quantize_row_q8_0}
     * ({@code d = f16(amax / 127)}, {@code q = rint(x * 127 / amax)}) and dequantized as
     * {@code d * q}; otherwise {@code x} itself. Vectors of {@code cols} floats, each quantized on its own.
     */
    static float[] kernelInputs(GgmlType type, float[] x, int cols) {
        if (!quantizesActivations(type)) {
            return x;
        }
        float[] r = x.clone();
        short[] q = new short[cols];
        float[] d = new float[cols / 32];
        for (int v = 0; v + cols <= x.length; v += cols) {
            q8_0Activation(x, v, cols, q, d);
            for (int i = 0; i < cols; i++) {
                r[v + i] = q[i] * d[i / 32];
            }
        }
        return r;
    }

    /** llama.cpp AVX2 quantize_row_q8_0: d = amax / 127 stored as f16, q = round-half-even(x * 127 / amax). */
    static void q8_0Activation(float[] x, int off, int n, short[] q, float[] d) {
        for (int b = 0; b < n / 32; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(x[off + 32 * b + j]));
            }
            d[b] = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0 ? 127f / amax : 0f;
            for (int j = 0; j < 32; j++) {
                q[32 * b + j] = (short) Math.rint(x[off + 32 * b + j] * id);
            }
        }
    }
}
