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
    private short[] q4_0Terms = new short[0];
    private int length;
    /** Whether {@link #q4_0Terms} belong to the last {@link #quantize}. */
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
     * {@code q4_0Terms}: also compute {@link #q4_0Terms}, which only the Q4_0 kernel reads (skipped for Q8_0 weights, where they would be work on every decode product).
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

    /** The Q4_0 kernel's activation terms: {@link #q4_0Terms}. */
    private void computeQ4_0Terms() {
        if (q4_0Terms.length < length / BLOCK * Q4_0_TERMS) {
            q4_0Terms = new short[length / BLOCK * Q4_0_TERMS];
        }
        for (int b = 0; b < length / BLOCK; b++) {
            for (int k = 0; k < BLOCK / 2; k++) {
                int low = quants[BLOCK * b + k];
                int high = quants[BLOCK * b + BLOCK / 2 + k];
                int at = Q4_0_TERMS * b + k;
                q4_0Terms[at] = (short) (16 * low);
                q4_0Terms[at + 16] = (short) (high - 16 * low);
                q4_0Terms[at + 32] = (short) (-128 * (low + high) + (k % 2 == 0 ? 0x8000 : 0));
            }
        }
    }

    /** Shorts per block in {@link #q4_0Terms}. */
    public static final int Q4_0_TERMS = 48;

    /**
     * Per block {@code b} of the last {@link #quantize}, {@value #Q4_0_TERMS} shorts from index
     * {@code 48 b}, for lane {@code k} in {@code [0, 16)} (byte {@code k} of a Q4_0 block holds
     * element {@code k} in its low and {@code k + 16} in its high nibble; {@code lo} and
     * {@code hi} are those elements' quants):
     * <ul>
     *   <li>{@code [k]}: {@code 16 lo};
     *   <li>{@code [16 + k]}: {@code hi - 16 lo};
     *   <li>{@code [32 + k]}: {@code -128 (lo + hi)}, plus {@code 0x8000} in even lanes.
     * </ul>
     * With {@code byte} the unsigned byte and {@code byte & 0xF0 = 16 * highNibble}, the 16-bit
     * sum {@code byte * [k] + (byte & 0xF0) * [16 + k] + [32 + k]} is 16 times the products of
     * the signed weights {@code nibble - 8} (no shift and no {@code - 8} per nibble), at most
     * {@code 16 * 2032} in magnitude, and offset by {@code 0x8000} in even lanes so that it reads
     * unsigned there (see {@code Q8ActivationDots.q4_0}). Wrap-around in between is harmless:
     * the result fits.
     */
    public short[] q4_0Terms() {
        checkQ4_0Terms();
        return q4_0Terms;
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
