package io.kvcache.tensor;

import io.kvcache.gguf.GgmlType;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Encodes floats in GGML types, for writers, synthetic models and tests. Stateless, thread-safe.
 *
 * <p>{@link #quantize} follows llama.cpp's reference encoders ({@code quantize_row_*_ref}) so the
 * bytes match llama.cpp's for the same input: Q8_0 uses {@code d = amax / 127} and
 * {@code roundf(x / d)} (ties away from zero); Q4_0 takes {@code d = max / -8} with {@code max}
 * the value of largest magnitude and truncates {@code x / d + 8.5}; Q4_1 spans {@code [min, max]}
 * in 15 steps; F16 rounds to nearest even; BF16 rounds to nearest even (NaNs stay quiet NaNs).
 */
public final class Quantizer {
    /** Types {@link #quantize} encodes. */
    public static final List<GgmlType> QUANTIZABLE = List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q4_0,
            GgmlType.Q4_1, GgmlType.Q8_0, GgmlType.BF16);

    private Quantizer() {
    }

    /**
     * Encodes {@code values} as {@code type}.
     *
     * @throws IllegalArgumentException when the length is not a multiple of the type's block size
     * @throws UnsupportedTensorTypeException for types without an encoder (see {@link #QUANTIZABLE})
     */
    public static byte[] quantize(GgmlType type, float[] values) {
        if (!QUANTIZABLE.contains(type)) {
            throw new UnsupportedTensorTypeException(type, "quantize", QUANTIZABLE);
        }
        if (values.length % type.blockSize() != 0) {
            throw new IllegalArgumentException(values.length + " values are not a whole number of " + type
                    + " blocks of " + type.blockSize() + "; pad the row");
        }
        byte[] out = new byte[Math.toIntExact(type.byteSize(values.length))];
        int blocks = values.length / type.blockSize();
        switch (type) {
            case F32 -> {
                for (int i = 0; i < values.length; i++) {
                    putInt(out, 4 * i, Float.floatToRawIntBits(values[i]));
                }
            }
            case F16 -> {
                for (int i = 0; i < values.length; i++) {
                    putShort(out, 2 * i, Float.floatToFloat16(values[i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < values.length; i++) {
                    putShort(out, 2 * i, toBf16(values[i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < blocks; b++) {
                    quantizeQ8_0(values, 32 * b, out, 34 * b);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < blocks; b++) {
                    quantizeQ4_0(values, 32 * b, out, 18 * b);
                }
            }
            case Q4_1 -> {
                for (int b = 0; b < blocks; b++) {
                    quantizeQ4_1(values, 32 * b, out, 20 * b);
                }
            }
            default -> throw new UnsupportedTensorTypeException(type, "quantize", QUANTIZABLE);
        }
        return out;
    }

    /** llama.cpp's {@code ggml_compute_fp32_to_bf16}: round to nearest even, NaN made quiet. */
    static short toBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 64);
        }
        return (short) ((bits + (0x7fff + ((bits >>> 16) & 1))) >>> 16);
    }

    /** C's {@code roundf}: halfway cases away from zero (Math.round rounds them up). */
    static float roundf(float v) {
        double a = Math.floor(Math.abs((double) v) + 0.5);
        return (float) Math.copySign(a, v);
    }

    private static void quantizeQ8_0(float[] x, int from, byte[] out, int at) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[from + j]));
        }
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putShort(out, at, Float.floatToFloat16(d));
        for (int j = 0; j < 32; j++) {
            out[at + 2 + j] = (byte) (int) roundf(x[from + j] * id);
        }
    }

    private static void quantizeQ4_0(float[] x, int from, byte[] out, int at) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[from + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putShort(out, at, Float.floatToFloat16(d));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (byte) (int) (x[from + j] * id + 8.5f));
            int hi = Math.min(15, (byte) (int) (x[from + 16 + j] * id + 8.5f));
            out[at + 2 + j] = (byte) (lo | (hi << 4));
        }
    }

    private static void quantizeQ4_1(float[] x, int from, byte[] out, int at) {
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < 32; j++) {
            float v = x[from + j];
            // C comparisons, not Math.min/max: they keep the first of 0.0f and -0.0f like llama.cpp
            if (v < min) {
                min = v;
            }
            if (v > max) {
                max = v;
            }
        }
        float d = (max - min) / 15;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putShort(out, at, Float.floatToFloat16(d));
        putShort(out, at + 2, Float.floatToFloat16(min));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (byte) (int) ((x[from + j] - min) * id + 0.5f));
            int hi = Math.min(15, (byte) (int) ((x[from + 16 + j] - min) * id + 0.5f));
            out[at + 4 + j] = (byte) (lo | (hi << 4));
        }
    }

    /**
     * {@code blocks} blocks of valid random data of any type {@link WeightMatrix#supportedTypes()}
     * lists. Quants and packed scales cover their whole range; float scales are finite and small so
     * that elements stay within about ±0.1 (like trained weights), and synthetic models built from
     * them produce sane activations.
     *
     * @throws UnsupportedTensorTypeException for other types
     */
    public static byte[] randomBlocks(GgmlType type, int blocks, RandomGenerator rng) {
        if (!WeightMatrix.supportedTypes().contains(type)) {
            throw new UnsupportedTensorTypeException(type, "randomBlocks", WeightMatrix.supportedTypes());
        }
        if (blocks < 0) {
            throw new IllegalArgumentException("blocks must be >= 0, got " + blocks);
        }
        byte[] out = new byte[Math.multiplyExact(blocks, type.bytesPerBlock())];
        rng.nextBytes(out);
        int size = type.bytesPerBlock();
        for (int b = 0; b < blocks; b++) {
            int at = b * size;
            switch (type) {
                case F32 -> putInt(out, at, Float.floatToRawIntBits(uniform(rng, 0.1f)));
                case F16 -> putShort(out, at, Float.floatToFloat16(uniform(rng, 0.1f)));
                case BF16 -> putShort(out, at, toBf16(uniform(rng, 0.1f)));
                // 127 * 8e-4 ~ 0.1
                case Q8_0 -> putScale(out, at, rng, 1e-4f, 8e-4f, true);
                // 8 * 1.2e-2 ~ 0.1
                case Q4_0 -> putScale(out, at, rng, 1e-3f, 1.2e-2f, true);
                case Q4_1 -> {
                    putScale(out, at, rng, 1e-3f, 6e-3f, true);
                    putShort(out, at + 2, Float.floatToFloat16(uniform(rng, 0.05f)));
                }
                // 16 * 6e-3 ~ 0.1
                case Q5_0 -> putScale(out, at, rng, 5e-4f, 6e-3f, true);
                case Q5_1 -> {
                    putScale(out, at, rng, 5e-4f, 3e-3f, true);
                    putShort(out, at + 2, Float.floatToFloat16(uniform(rng, 0.05f)));
                }
                // d * 63 * 15 and dmin * 63 stay below ~0.1
                case Q4_K -> {
                    putScale(out, at, rng, 2e-5f, 1e-4f, false);
                    putScale(out, at + 2, rng, 2e-5f, 1e-4f, false);
                }
                case Q5_K -> {
                    putScale(out, at, rng, 1e-5f, 5e-5f, false);
                    putScale(out, at + 2, rng, 2e-5f, 1e-4f, false);
                }
                // d * 127 * 32 ~ 0.1
                case Q6_K -> putScale(out, at + 208, rng, 5e-6f, 2.5e-5f, false);
                default -> throw new UnsupportedTensorTypeException(type, "randomBlocks", WeightMatrix.supportedTypes());
            }
        }
        return out;
    }

    private static float uniform(RandomGenerator rng, float bound) {
        return (rng.nextFloat() * 2 - 1) * bound;
    }

    private static void putScale(byte[] out, int at, RandomGenerator rng, float lo, float hi, boolean signed) {
        float d = lo + rng.nextFloat() * (hi - lo);
        if (signed && rng.nextBoolean()) {
            d = -d;
        }
        putShort(out, at, Float.floatToFloat16(d));
    }

    private static void putShort(byte[] out, int at, short v) {
        out[at] = (byte) v;
        out[at + 1] = (byte) (v >>> 8);
    }

    private static void putInt(byte[] out, int at, int v) {
        out[at] = (byte) v;
        out[at + 1] = (byte) (v >>> 8);
        out[at + 2] = (byte) (v >>> 16);
        out[at + 3] = (byte) (v >>> 24);
    }
}
