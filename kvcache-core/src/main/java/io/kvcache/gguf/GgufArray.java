package io.kvcache.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * A metadata array. The elements are held in a primitive array chosen by element type:
 * {@code int[]} for {@code UINT8, INT8, UINT16, INT16, INT32}; {@code long[]} for
 * {@code UINT32, INT64, UINT64}; {@code float[]}, {@code double[]}, {@code boolean[]},
 * {@code String[]}; and {@code GgufArray[]} for nested arrays. The accessors return copies
 * converted to the asked type, or throw {@link IllegalStateException} when the element type does
 * not convert.
 */
public final class GgufArray {
    private final GgufValueType elementType;
    private final Object data;
    private final int length;

    private GgufArray(GgufValueType elementType, Object data, int length) {
        this.elementType = elementType;
        this.data = data;
        this.length = length;
    }

    public static GgufArray ofInts(GgufValueType elementType, int[] values) {
        switch (elementType) {
            case UINT8, INT8, UINT16, INT16, INT32 -> { }
            default -> throw new IllegalArgumentException(elementType + " elements are not held as int[]");
        }
        return new GgufArray(elementType, values.clone(), values.length);
    }

    public static GgufArray ofLongs(GgufValueType elementType, long[] values) {
        switch (elementType) {
            case UINT32, INT64, UINT64 -> { }
            default -> throw new IllegalArgumentException(elementType + " elements are not held as long[]");
        }
        return new GgufArray(elementType, values.clone(), values.length);
    }

    public static GgufArray ofFloats(float[] values) {
        return new GgufArray(GgufValueType.FLOAT32, values.clone(), values.length);
    }

    public static GgufArray ofDoubles(double[] values) {
        return new GgufArray(GgufValueType.FLOAT64, values.clone(), values.length);
    }

    public static GgufArray ofBooleans(boolean[] values) {
        return new GgufArray(GgufValueType.BOOL, values.clone(), values.length);
    }

    public static GgufArray ofStrings(String... values) {
        for (String s : values) {
            Objects.requireNonNull(s, "array element");
        }
        return new GgufArray(GgufValueType.STRING, values.clone(), values.length);
    }

    public static GgufArray ofArrays(GgufArray... values) {
        return new GgufArray(GgufValueType.ARRAY, values.clone(), values.length);
    }

    /** Wraps without copying; the reader owns the array it passes. */
    static GgufArray wrap(GgufValueType elementType, Object data, int length) {
        return new GgufArray(elementType, data, length);
    }

    public GgufValueType elementType() {
        return elementType;
    }

    public int length() {
        return length;
    }

    /** Integral elements as ints; fails when a value does not fit. */
    public int[] asInts() {
        return switch (data) {
            case int[] a -> a.clone();
            case long[] a -> {
                int[] r = new int[a.length];
                for (int i = 0; i < a.length; i++) {
                    if (a[i] != (int) a[i]) {
                        throw new IllegalStateException("array element " + i + " = " + a[i] + " does not fit an int");
                    }
                    r[i] = (int) a[i];
                }
                yield r;
            }
            default -> throw mismatch("int");
        };
    }

    public long[] asLongs() {
        return switch (data) {
            case long[] a -> a.clone();
            case int[] a -> Arrays.stream(a).asLongStream().toArray();
            default -> throw mismatch("long");
        };
    }

    public float[] asFloats() {
        return switch (data) {
            case float[] a -> a.clone();
            case double[] a -> {
                float[] r = new float[a.length];
                for (int i = 0; i < a.length; i++) {
                    r[i] = (float) a[i];
                }
                yield r;
            }
            default -> throw mismatch("float");
        };
    }

    public double[] asDoubles() {
        return switch (data) {
            case double[] a -> a.clone();
            case float[] a -> {
                double[] r = new double[a.length];
                for (int i = 0; i < a.length; i++) {
                    r[i] = a[i];
                }
                yield r;
            }
            default -> throw mismatch("double");
        };
    }

    public boolean[] asBooleans() {
        if (data instanceof boolean[] a) {
            return a.clone();
        }
        throw mismatch("boolean");
    }

    public String[] asStrings() {
        if (data instanceof String[] a) {
            return a.clone();
        }
        throw mismatch("String");
    }

    public GgufArray[] asArrays() {
        if (data instanceof GgufArray[] a) {
            return a.clone();
        }
        throw mismatch("array");
    }

    /** Element {@code i} as a string (string arrays only), without copying the array. */
    public String stringAt(int i) {
        if (data instanceof String[] a) {
            return a[i];
        }
        throw mismatch("String");
    }

    /** The backing array, not copied: for the writer. */
    Object data() {
        return data;
    }

    private IllegalStateException mismatch(String wanted) {
        return new IllegalStateException("array of " + elementType + " cannot be read as " + wanted);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufArray a && elementType == a.elementType
                && Arrays.deepEquals(new Object[] {data}, new Object[] {a.data});
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(new Object[] {data}) * 31 + elementType.hashCode();
    }

    @Override
    public String toString() {
        int shown = Math.min(length, 8);
        StringBuilder sb = new StringBuilder("[").append(elementType).append(" x ").append(length).append(": ");
        for (int i = 0; i < shown; i++) {
            if (i > 0) {
                sb.append(", ");
            }
            sb.append(java.lang.reflect.Array.get(data, i));
        }
        return sb.append(length > shown ? ", ...]" : "]").toString();
    }
}
