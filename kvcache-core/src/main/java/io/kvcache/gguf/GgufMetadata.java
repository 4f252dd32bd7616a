package io.kvcache.gguf;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The key/value metadata of a GGUF file, in file order. Immutable and thread-safe.
 *
 * <p>Typed getters convert between numeric types when the value fits and throw
 * {@link GgufFormatException} naming the key when it is missing or of the wrong type, so a model
 * loader can call {@code getInt("llama.block_count")} and get a useful error.
 */
public final class GgufMetadata {
    private final Map<String, GgufValue> values;

    public GgufMetadata(Map<String, GgufValue> values) {
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    /** All entries, in file order. */
    public Map<String, GgufValue> asMap() {
        return values;
    }

    public Set<String> keys() {
        return values.keySet();
    }

    public boolean contains(String key) {
        return values.containsKey(key);
    }

    public @Nullable GgufValue get(String key) {
        return values.get(key);
    }

    public int size() {
        return values.size();
    }

    public String getString(String key) {
        return optionalString(key).orElseThrow(() -> missing(key, "string"));
    }

    public Optional<String> optionalString(String key) {
        GgufValue v = values.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v.value() instanceof String s) {
            return Optional.of(s);
        }
        throw wrongType(key, v, "string");
    }

    public long getLong(String key) {
        OptionalLong v = optionalLong(key);
        if (v.isEmpty()) {
            throw missing(key, "integer");
        }
        return v.getAsLong();
    }

    public OptionalLong optionalLong(String key) {
        GgufValue v = values.get(key);
        if (v == null) {
            return OptionalLong.empty();
        }
        return switch (v.value()) {
            case Integer i -> OptionalLong.of(i);
            case Long l -> OptionalLong.of(l);
            default -> throw wrongType(key, v, "integer");
        };
    }

    public int getInt(String key) {
        OptionalInt v = optionalInt(key);
        if (v.isEmpty()) {
            throw missing(key, "integer");
        }
        return v.getAsInt();
    }

    public OptionalInt optionalInt(String key) {
        OptionalLong v = optionalLong(key);
        if (v.isEmpty()) {
            return OptionalInt.empty();
        }
        long l = v.getAsLong();
        if (l != (int) l) {
            throw new GgufFormatException("metadata '" + key + "' = " + l + " does not fit a 32-bit int", -1);
        }
        return OptionalInt.of((int) l);
    }

    public int getInt(String key, int defaultValue) {
        return optionalInt(key).orElse(defaultValue);
    }

    public double getDouble(String key) {
        OptionalDouble v = optionalDouble(key);
        if (v.isEmpty()) {
            throw missing(key, "number");
        }
        return v.getAsDouble();
    }

    public OptionalDouble optionalDouble(String key) {
        GgufValue v = values.get(key);
        if (v == null) {
            return OptionalDouble.empty();
        }
        return switch (v.value()) {
            case Float f -> OptionalDouble.of(f);
            case Double d -> OptionalDouble.of(d);
            case Integer i -> OptionalDouble.of(i);
            case Long l -> OptionalDouble.of(l);
            default -> throw wrongType(key, v, "number");
        };
    }

    public float getFloat(String key, float defaultValue) {
        OptionalDouble v = optionalDouble(key);
        return v.isPresent() ? (float) v.getAsDouble() : defaultValue;
    }

    public boolean getBoolean(String key, boolean defaultValue) {
        GgufValue v = values.get(key);
        if (v == null) {
            return defaultValue;
        }
        if (v.value() instanceof Boolean b) {
            return b;
        }
        throw wrongType(key, v, "bool");
    }

    public Optional<GgufArray> optionalArray(String key) {
        GgufValue v = values.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (v.value() instanceof GgufArray a) {
            return Optional.of(a);
        }
        throw wrongType(key, v, "array");
    }

    public GgufArray getArray(String key) {
        return optionalArray(key).orElseThrow(() -> missing(key, "array"));
    }

    private static GgufFormatException missing(String key, String what) {
        return new GgufFormatException("required metadata key '" + key + "' (" + what + ") is missing", -1);
    }

    private static GgufFormatException wrongType(String key, GgufValue v, String what) {
        return new GgufFormatException("metadata '" + key + "' is " + v.type() + ", expected " + what, -1);
    }

    @Override
    public String toString() {
        return values.toString();
    }
}
