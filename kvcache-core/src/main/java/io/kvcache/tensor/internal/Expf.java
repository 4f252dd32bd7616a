package io.kvcache.tensor.internal;

/**
 * The exponential that llama.cpp's softmax uses ({@code ggml_v_expf}, from Arm's optimized
 * routines): a degree-5 polynomial after range reduction, at most about 1.5 ulp from exp, with the
 * same result in every lane whatever the vector width. llama.cpp's SiLU ({@code ggml_v_silu}) uses it
 * too. The vector kernels compute the same steps lane-wise, so scalar and vector softmax weights and
 * SiLU values agree bit for bit. Stateless, thread-safe.
 */
public final class Expf {
    public static final float SHIFT = 0x1.8p23f;
    public static final float LOG2E = 0x1.715476p+0f;
    public static final float LN2_HI = 0x1.62e4p-1f;
    public static final float LN2_LO = 0x1.7f7d1cp-20f;
    public static final float C0 = 0x1.ffffecp-1f;
    public static final float C1 = 0x1.fffdb6p-2f;
    public static final float C2 = 0x1.555e66p-3f;
    public static final float C3 = 0x1.573e2ep-5f;
    public static final float C4 = 0x1.0e4020p-7f;
    /** Beyond this |n| the scale 2^n is not a normal float and is built in two factors. */
    public static final float SCALE_LIMIT = 126f;

    private Expf() {
    }

    public static float exp(float x) {
        float z = Math.fma(x, LOG2E, SHIFT);
        float n = z - SHIFT;
        float b = Math.fma(-n, LN2_LO, Math.fma(-n, LN2_HI, x));
        int e = Float.floatToRawIntBits(z) << 23;
        float u = b * b;
        float j = Math.fma(Math.fma(Math.fma(C4, b, C3), u, Math.fma(C2, b, C1)), u, C0 * b);
        float absN = Math.abs(n);
        if (!(absN > SCALE_LIMIT)) {
            float k = Float.intBitsToFloat(e + 0x3f800000);
            return Math.fma(j, k, k);
        }
        // 2^n out of the normal range: split it so that the product under- or overflows only once.
        int g = n <= 0 ? 0x82000000 : 0;
        float s1 = Float.intBitsToFloat(g + 0x7f000000);
        if (absN > 192f) {
            return s1 * s1;
        }
        float s2 = Float.intBitsToFloat(e - g);
        return Math.fma(s2, j, s2) * s1;
    }

    /**
     * {@code silu(g) * u = g / (1 + exp(-g)) * u} with this exp, in llama.cpp's order
     * ({@code ggml_v_silu} then the product); the vector SwiGLU computes the same lane-wise.
     */
    public static float siluTimes(float g, float u) {
        return g / (1f + exp(-g)) * u;
    }
}
