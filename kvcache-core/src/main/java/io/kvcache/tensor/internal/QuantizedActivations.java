package io.kvcache.tensor.internal;

import io.kvcache.tensor.internal.vector.Q8ActivationDots;
import java.util.Objects;

/**
 * An activation vector quantized to Q8_0 blocks of 32, exactly as llama.cpp's AVX2
 * {@code quantize_row_q8_0} does before its Q8_0 and Q4_0 dot products: per block
 * {@code amax = max |x|}, quants {@code rint(x * 127 / amax)} (round half to even), scale
 * {@code d = amax / 127} rounded to half precision. The quants are kept widened to 16 bits,
 * the form the integer kernels multiply.
 *
 * <p>Reusable scratch: {@link #quantize} overwrites the previous vector and grows the arrays only
 * when a longer vector arrives, so steady-state decoding allocates nothing. Not thread-safe: one
 * instance per thread (readers on other threads need a happens-before edge after
 * {@link #quantize}, which {@code ComputePool} hand-offs provide). The static {@link #roundTrip}
 * is stateless and thread-safe.
 */
public final class QuantizedActivations {
    public static final int BLOCK = 32;

    private short[] quants = new short[0];
    private float[] scales = new float[0];
    private short[] q4_0Bias = new short[0];
    private short[] q4_0HighFactors = new short[0];
    private int length;
    /** Whether {@link #q4_0Bias} and {@link #q4_0HighFactors} belong to the last {@link #quantize}. */
    private boolean q4_0TermsCurrent;

    /**
     * Quantizes {@code x[offset .. offset + n)} with the Q4_0 kernel's activation terms; see
     * {@link #quantize(float[], int, int, boolean)}.
     */
    public void quantize(float[] x, int offset, int n) {
        quantize(x, offset, n, true);
    }

    /**
     * Quantizes {@code x[offset .. offset + n)}; {@code n} must be a multiple of {@value #BLOCK}.
     * The vector and scalar paths give bit-identical quants and scales (every step is exactly
     * rounded: a maximum, one division, a multiplication rounded half to even).
     *
     * {@code q4_0Terms}: also compute {@link #q4_0Bias} and {@link #q4_0HighFactors}, which only the
     * Q4_0 kernel reads (skipped for Q8_0 weights, where they would be work on every decode product).
     *
     * @throws IllegalArgumentException when {@code n} is not a multiple of {@value #BLOCK}
     * @throws IndexOutOfBoundsException when the range is out of bounds
     */
    public void quantize(float[] x, int offset, int n, boolean q4_0Terms) {
        Objects.checkFromIndexSize(offset, n, x.length);
        checkBlocks(n);
        if (quants.length < n) {
            quants = new short[n];
            scales = new float[n / BLOCK];
        }
        if (VectorSupport.ENABLED) {
            Q8ActivationDots.quantize(x, offset, n, quants, scales);
        } else {
            for (int b = 0; b < n / BLOCK; b++) {
                int at = offset + BLOCK * b;
                float amax = blockMax(x, at);
                scales[b] = scale(amax);
                float id = inverseScale(amax);
                for (int j = 0; j < BLOCK; j++) {
                    quants[BLOCK * b + j] = (short) Math.rint(x[at + j] * id);
                }
            }
        }
        length = n;
        q4_0TermsCurrent = q4_0Terms;
        if (q4_0Terms) {
            computeQ4_0Terms();
        }
    }

    /** The Q4_0 kernel's activation terms: {@link #q4_0Bias} and {@link #q4_0HighFactors}. */
    private void computeQ4_0Terms() {
        if (q4_0Bias.length < length / 2) {
            q4_0Bias = new short[length / 2];
            q4_0HighFactors = new short[length / 2];
        }
        for (int b = 0; b < length / BLOCK; b++) {
            for (int k = 0; k < BLOCK / 2; k++) {
                int low = quants[BLOCK * b + k];
                int high = quants[BLOCK * b + BLOCK / 2 + k];
                q4_0Bias[BLOCK / 2 * b + k] = (short) (-8 * (low + high));
                q4_0HighFactors[BLOCK / 2 * b + k] = (short) (high - 16 * low);
            }
        }
    }

    /**
     * Per block of the last {@link #quantize}, 16 shorts: {@code -8 * (q[32 b + k] + q[32 b + 16 + k])}
     * at index {@code 16 b + k}. Added to the products of a Q4_0 block's unsigned nibbles
     * (element {@code k} and {@code k + 16} share byte {@code k}) with the quants, they make the
     * products of the signed weights {@code nibble - 8}, so the kernel need not subtract 8 per
     * nibble.
     */
    public short[] q4_0Bias() {
        checkQ4_0Terms();
        return q4_0Bias;
    }

    /**
     * Per block of the last {@link #quantize}, 16 shorts: {@code q[32 b + 16 + k] - 16 * q[32 b + k]}
     * at index {@code 16 b + k}. With byte {@code k} of a Q4_0 block read unsigned,
     * {@code byte * q[32 b + k] + (byte >>> 4) * factor} is {@code low * q[32 b + k] + high * q[32 b + 16 + k]}
     * (as {@code byte = low + 16 high}), so the kernel need not mask the low nibble.
     */
    public short[] q4_0HighFactors() {
        checkQ4_0Terms();
        return q4_0HighFactors;
    }

    /**
     * Writes {@code d * q} for each element of {@code src[srcOff .. srcOff + n)} quantized as
     * {@link #quantize} does into {@code dst[dstOff ..)} ({@code dst} may be {@code src} at the
     * same offset). Each such value is exact in float (an 11-bit scale times a quant of at most 8
     * bits), so a float product over these values equals llama.cpp's integer block sums scaled by
     * {@code d_w * d_x} up to the rounding of the products and the summation order: what lets the
     * batched product (which multiplies floats) agree with the integer matvec kernels.
     *
     * @throws IllegalArgumentException when {@code n} is not a multiple of {@value #BLOCK}
     * @throws IndexOutOfBoundsException when a range is out of bounds
     */
    public static void roundTrip(float[] src, int srcOff, int n, float[] dst, int dstOff) {
        Objects.checkFromIndexSize(srcOff, n, src.length);
        Objects.checkFromIndexSize(dstOff, n, dst.length);
        checkBlocks(n);
        if (VectorSupport.ENABLED) {
            Q8ActivationDots.roundTrip(src, srcOff, n, dst, dstOff);
            return;
        }
        for (int b = 0; b < n / BLOCK; b++) {
            int from = srcOff + BLOCK * b;
            int to = dstOff + BLOCK * b;
            float amax = blockMax(src, from);
            float d = scale(amax);
            float id = inverseScale(amax);
            for (int j = 0; j < BLOCK; j++) {
                dst[to + j] = (float) Math.rint(src[from + j] * id) * d;
            }
        }
    }

    private void checkQ4_0Terms() {
        if (!q4_0TermsCurrent) {
            throw new IllegalStateException("the last quantize skipped the Q4_0 terms; quantize with q4_0Terms = true");
        }
    }

    private static void checkBlocks(int n) {
        if (n % BLOCK != 0) {
            throw new IllegalArgumentException("length " + n + " is not a multiple of " + BLOCK);
        }
    }

    private static float blockMax(float[] x, int at) {
        float amax = 0;
        for (int j = 0; j < BLOCK; j++) {
            amax = Math.max(amax, Math.abs(x[at + j]));
        }
        return amax;
    }

    /** The block scale {@code amax / 127}, rounded to half precision as llama.cpp stores it. */
    static float scale(float amax) {
        return Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
    }

    /** {@code 127 / amax} (not the reciprocal of the rounded scale: llama.cpp's AVX2 quantizer). */
    static float inverseScale(float amax) {
        return amax != 0f ? 127f / amax : 0f;
    }

    /** The quants of the last {@link #quantize}, widened: element {@code i} at index {@code i}. */
    public short[] quants() {
        return quants;
    }

    /** The block scales of the last {@link #quantize} (already rounded to half precision). */
    public float[] scales() {
        return scales;
    }

    /** Elements of the last {@link #quantize}. */
    public int length() {
        return length;
    }
}
