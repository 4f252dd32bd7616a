package io.kvcache.tensor.internal.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector form of {@code QuantizedActivations.roundTrip}: each block of 32 quantized to Q8_0
 * and dequantized back to floats, bit-identical to the scalar form and to
 * {@link Q8ActivationDots#quantize} followed by {@code d * q}. Stateless, thread-safe.
 */
public final class Q8Rounding {
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    /** Adding then subtracting 1.5 * 2^23 rounds a float of magnitude below 2^22 to an integer, half to even. */
    private static final float ROUNDING = 12582912f;

    private Q8Rounding() {
    }

    /** {@code dst[dstOff + i] = d * rint(src[srcOff + i] * 127 / amax)} per block of 32; {@code n % 32 == 0}. */
    public static void roundTrip(float[] src, int srcOff, int n, float[] dst, int dstOff) {
        for (int b = 0; b < n / 32; b++) {
            int from = srcOff + 32 * b;
            int to = dstOff + 32 * b;
            FloatVector v0 = FloatVector.fromArray(F8, src, from);
            FloatVector v1 = FloatVector.fromArray(F8, src, from + 8);
            FloatVector v2 = FloatVector.fromArray(F8, src, from + 16);
            FloatVector v3 = FloatVector.fromArray(F8, src, from + 24);
            float amax = v0.abs().max(v1.abs()).max(v2.abs().max(v3.abs())).reduceLanes(VectorOperators.MAX);
            float d = Float.float16ToFloat(Float.floatToFloat16(amax / 127f));
            float id = amax != 0f ? 127f / amax : 0f;
            // |v * id| <= 127, so the rounding trick is exact.
            v0.mul(id).add(ROUNDING).sub(ROUNDING).mul(d).intoArray(dst, to);
            v1.mul(id).add(ROUNDING).sub(ROUNDING).mul(d).intoArray(dst, to + 8);
            v2.mul(id).add(ROUNDING).sub(ROUNDING).mul(d).intoArray(dst, to + 16);
            v3.mul(id).add(ROUNDING).sub(ROUNDING).mul(d).intoArray(dst, to + 24);
        }
    }
}
