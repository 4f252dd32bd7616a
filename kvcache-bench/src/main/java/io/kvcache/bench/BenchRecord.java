package io.kvcache.bench;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One measurement (or one failure to measure) of the end-to-end benchmark. Immutable and
 * thread-safe (the extras map is copied and unmodifiable).
 *
 * <p>Throughput tests ({@code pp128}, {@code tg128@d512}, ...) carry {@link #tokensPerSecond()};
 * other figures (a speed-up, bytes per token, a time to first token) carry {@link #value()} in
 * {@link #unit()}, and optionally the {@link #target()} the project aims at. A record whose engine
 * could not run carries an {@link #error()} and no figure.
 *
 * @param engine {@code kvcache}, {@code llama.cpp} or {@code jlama}
 * @param model the benchmark model's name (e.g. {@code bench-110m-q8_0})
 * @param test what was measured (e.g. {@code pp512}, {@code tg128@d1024}, {@code prefix_hit_ttft_speedup})
 * @param tokensPerSecond throughput, or null
 * @param value another figure, or null
 * @param unit the unit of {@code value}, or null
 * @param target the figure this project aims at (a ratio to llama.cpp for throughput tests, else in
 *     {@code unit}), or null
 * @param error why nothing was measured, or null
 * @param extras further facts (repetitions, token counts, allocation per token...), in insertion order
 */
public record BenchRecord(String engine, String model, String test, @Nullable Double tokensPerSecond,
                          @Nullable Double value, @Nullable String unit, @Nullable Double target,
                          @Nullable String error, Map<String, Object> extras) {

    public static final String KVCACHE = "kvcache";
    public static final String LLAMA_CPP = "llama.cpp";
    public static final String JLAMA = "jlama";

    public BenchRecord {
        Objects.requireNonNull(engine, "engine");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(test, "test");
        extras = Collections.unmodifiableMap(new LinkedHashMap<>(extras));
    }

    /** A throughput measurement. */
    public static BenchRecord throughput(String engine, String model, String test, double tokensPerSecond) {
        return new BenchRecord(engine, model, test, tokensPerSecond, null, null, null, null, Map.of());
    }

    /** A figure other than throughput. */
    public static BenchRecord figure(String engine, String model, String test, double value, String unit,
            @Nullable Double target) {
        return new BenchRecord(engine, model, test, null, value, unit, target, null, Map.of());
    }

    /** A test that could not run. */
    public static BenchRecord failure(String engine, String model, String test, String error) {
        return new BenchRecord(engine, model, test, null, null, null, null, error, Map.of());
    }

    public BenchRecord withTarget(@Nullable Double newTarget) {
        return new BenchRecord(engine, model, test, tokensPerSecond, value, unit, newTarget, error, extras);
    }

    /** A copy with one more extra fact (replacing an earlier one of that name). */
    public BenchRecord with(String key, Object extra) {
        Map<String, Object> m = new LinkedHashMap<>(extras);
        m.put(key, extra);
        return new BenchRecord(engine, model, test, tokensPerSecond, value, unit, target, error, m);
    }

    public boolean failed() {
        return error != null;
    }

    /** The JSON object of this record: snake_case keys, nulls left out, extras after the fixed fields. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("engine", engine);
        m.put("model", model);
        m.put("test", test);
        putIfPresent(m, "tokens_per_second", tokensPerSecond);
        putIfPresent(m, "value", value);
        putIfPresent(m, "unit", unit);
        putIfPresent(m, "target", target);
        putIfPresent(m, "error", error);
        m.putAll(extras);
        return m;
    }

    /** The record {@link #toJson} wrote (numbers of any JSON type; every key it does not know becomes an extra). */
    public static BenchRecord fromJson(Map<String, Object> json) {
        Map<String, Object> extras = new LinkedHashMap<>(json);
        String engine = (String) extras.remove("engine");
        String model = (String) extras.remove("model");
        String test = (String) extras.remove("test");
        Double tokensPerSecond = number(extras.remove("tokens_per_second"));
        Double value = number(extras.remove("value"));
        String unit = (String) extras.remove("unit");
        Double target = number(extras.remove("target"));
        String error = (String) extras.remove("error");
        return new BenchRecord(engine, model, test, tokensPerSecond, value, unit, target, error, extras);
    }

    private static @Nullable Double number(@Nullable Object o) {
        return o == null ? null : ((Number) o).doubleValue();
    }

    private static void putIfPresent(Map<String, Object> m, String key, @Nullable Object v) {
        if (v != null) {
            m.put(key, v);
        }
    }
}
