package io.kvcache.cache;

/**
 * How cached keys or values are stored. Immutable and thread-safe.
 *
 * <ul>
 *   <li>{@link #F32}: 4 bytes per element, read back exactly.
 *   <li>{@link #F16}: IEEE half precision, 2 bytes per element; relative error at most 2<sup>-11</sup>
 *       for values in the normal half range (|x| in [6.1e-5, 65504]); larger magnitudes overflow to
 *       infinity, smaller ones lose relative precision (absolute error at most 2<sup>-25</sup>).
 *   <li>{@link #Q8_0}: llama.cpp's Q8_0 layout: per 32 elements an F16 scale {@code d ~ amax/127}
 *       followed by 32 signed bytes {@code q = round(x/d)}, 34 bytes per 32 elements. The scale is
 *       rounded to F16 upwards when needed so no value is clamped, and {@code q} is computed against
 *       the stored scale, so every element's absolute error is at most
 *       {@code amax/254 * (1 + 2^-10) + 2^-25} where {@code amax} is the largest magnitude in its group
 *       of 32 (the last term only matters for groups below about 1e-5, where the F16 scale is
 *       subnormal). Requires the head dimension to be a multiple of 32.
 * </ul>
 */
public enum KvElementType {
    F32,
    F16,
    Q8_0;

    /** Elements per Q8_0 group (one F16 scale per group). */
    public static final int Q8_0_GROUP = 32;

    /**
     * Bytes needed to store {@code elements} elements of this type.
     *
     * @throws IllegalArgumentException if {@code elements} is negative, or not a multiple of 32 for
     *     {@link #Q8_0}
     */
    public long bytesFor(int elements) {
        if (elements < 0) {
            throw new IllegalArgumentException("element count must be >= 0, was " + elements);
        }
        return switch (this) {
            case F32 -> 4L * elements;
            case F16 -> 2L * elements;
            case Q8_0 -> {
                if (elements % Q8_0_GROUP != 0) {
                    throw new IllegalArgumentException("Q8_0 stores groups of 32 elements; " + elements
                            + " is not a multiple of 32 (use F16 or F32 for this head dimension)");
                }
                yield (long) (elements / Q8_0_GROUP) * 34;
            }
        };
    }
}
