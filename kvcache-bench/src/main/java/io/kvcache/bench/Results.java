package io.kvcache.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Relates kvcache's throughput to llama.cpp's and to the project's targets. Stateless and
 * thread-safe.
 *
 * <p>Targets (ratio of kvcache to llama.cpp measured in the same run): decode ({@code tg*}) at least
 * 1.0 for quantized models and 0.9 for F32 ones; prompt processing of 512 tokens at least 0.8.
 */
public final class Results {
    /** Decode target for quantized weights. */
    public static final double DECODE_TARGET = 1.0;
    /** Decode target for F32 weights (pure memory bandwidth: the JVM gets a little slack). */
    public static final double DECODE_TARGET_F32 = 0.9;
    /** Target for {@code pp512}. */
    public static final double PP512_TARGET = 0.8;
    /** Extra key of the ratio of kvcache to llama.cpp. */
    public static final String RATIO = "ratio_to_llama_cpp";
    /** Extra key of the ratio of kvcache to Jlama (no target: Jlama is a reference point, not a goal). */
    public static final String RATIO_JLAMA = "ratio_to_jlama";

    private Results() {
    }

    /** The target ratio to llama.cpp of a throughput test, or null when the project sets none. */
    public static @Nullable Double targetRatio(String model, String test) {
        if (test.startsWith("tg")) {
            return model.toLowerCase(Locale.ROOT).endsWith("-f32") ? DECODE_TARGET_F32 : DECODE_TARGET;
        }
        if (test.equals("pp512")) {
            return PP512_TARGET;
        }
        return null;
    }

    /**
     * A copy of {@code records} in which every kvcache throughput record that has a llama.cpp
     * counterpart (same model and test) carries {@value #RATIO} and its target, and one with a
     * Jlama counterpart {@value #RATIO_JLAMA}.
     */
    public static List<BenchRecord> withRatios(List<BenchRecord> records) {
        Map<String, Double> llama = throughputs(records, BenchRecord.LLAMA_CPP);
        Map<String, Double> jlama = throughputs(records, BenchRecord.JLAMA);
        List<BenchRecord> out = new ArrayList<>(records.size());
        for (BenchRecord r : records) {
            if (r.engine().equals(BenchRecord.KVCACHE) && r.tokensPerSecond() != null) {
                Double reference = llama.get(key(r));
                if (reference != null) {
                    r = r.with(RATIO, round(r.tokensPerSecond() / reference, 3))
                            .withTarget(targetRatio(r.model(), r.test()));
                }
                Double jlamaReference = jlama.get(key(r));
                if (jlamaReference != null) {
                    r = r.with(RATIO_JLAMA, round(r.tokensPerSecond() / jlamaReference, 3));
                }
            }
            out.add(r);
        }
        return out;
    }

    private static Map<String, Double> throughputs(List<BenchRecord> records, String engine) {
        Map<String, Double> byKey = new HashMap<>();
        for (BenchRecord r : records) {
            if (r.engine().equals(engine) && r.tokensPerSecond() != null && r.tokensPerSecond() > 0) {
                byKey.put(key(r), r.tokensPerSecond());
            }
        }
        return byKey;
    }

    /** Whether a record reaches its target: its ratio to llama.cpp, or its value; null when it has no target. */
    public static @Nullable Boolean meetsTarget(BenchRecord r) {
        if (r.target() == null) {
            return null;
        }
        Object ratio = r.extras().get(RATIO);
        if (ratio instanceof Number n) {
            return n.doubleValue() >= r.target();
        }
        if (r.value() != null) {
            return r.value() >= r.target();
        }
        return null;
    }

    static String key(BenchRecord r) {
        return r.model() + "\u0000" + r.test();
    }

    static double round(double v, int digits) {
        double scale = Math.pow(10, digits);
        return Math.round(v * scale) / scale;
    }
}
