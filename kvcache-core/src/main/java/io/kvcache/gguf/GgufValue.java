package io.kvcache.gguf;

import java.util.Objects;

/**
 * A typed metadata value.
 *
 * <p>Java representation by type: {@code UINT8, INT8, UINT16, INT16, INT32} as {@link Integer}
 * (unsigned types zero-extended); {@code UINT32, INT64, UINT64} as {@link Long} ({@code UINT64}
 * values above {@code Long.MAX_VALUE} wrap to negative); {@code FLOAT32} as {@link Float};
 * {@code FLOAT64} as {@link Double}; {@code BOOL} as {@link Boolean}; {@code STRING} as
 * {@link String}; {@code ARRAY} as {@link GgufArray}.
 */
public record GgufValue(GgufValueType type, Object value) {

    public GgufValue {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(value, "value");
        Class<?> expected = javaType(type);
        if (!expected.isInstance(value)) {
            throw new IllegalArgumentException("a " + type + " value must be a " + expected.getSimpleName()
                    + ", got " + value.getClass().getSimpleName());
        }
    }

    static Class<?> javaType(GgufValueType type) {
        return switch (type) {
            case UINT8, INT8, UINT16, INT16, INT32 -> Integer.class;
            case UINT32, INT64, UINT64 -> Long.class;
            case FLOAT32 -> Float.class;
            case FLOAT64 -> Double.class;
            case BOOL -> Boolean.class;
            case STRING -> String.class;
            case ARRAY -> GgufArray.class;
        };
    }

    public static GgufValue ofString(String s) {
        return new GgufValue(GgufValueType.STRING, s);
    }

    public static GgufValue ofUint32(long v) {
        return new GgufValue(GgufValueType.UINT32, v);
    }

    public static GgufValue ofInt32(int v) {
        return new GgufValue(GgufValueType.INT32, v);
    }

    public static GgufValue ofFloat32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, v);
    }

    public static GgufValue ofBool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, v);
    }

    public static GgufValue ofArray(GgufArray a) {
        return new GgufValue(GgufValueType.ARRAY, a);
    }

    @Override
    public String toString() {
        return value instanceof String s ? '"' + s + '"' : value.toString();
    }
}
