package io.kvcache.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes a run's records as {@code results.json} (a list of records), {@code results.md} (tables,
 * each kvcache figure as a ratio to llama.cpp from the same run) and {@code results.png} (a bar
 * chart of throughput). Stateless and thread-safe.
 */
public final class ResultWriter {
    public static final String JSON = "results.json";
    public static final String MARKDOWN = "results.md";
    public static final String CHART = "results.png";

    private static final JsonMapper MAPPER = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private ResultWriter() {
    }

    /**
     * Writes the three files into {@code directory} (created if needed).
     *
     * @param environment facts about the run shown above the tables (machine, JVM, load, mode)
     */
    public static void write(Path directory, List<BenchRecord> records, Map<String, String> environment) {
        List<BenchRecord> rated = Results.withRatios(records);
        try {
            Files.createDirectories(directory);
            Files.writeString(directory.resolve(JSON), json(rated));
            Files.writeString(directory.resolve(MARKDOWN), markdown(rated, environment));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write results to " + directory + ": " + e.getMessage(), e);
        }
        writeChart(directory.resolve(CHART), rated);
    }

    static String json(List<BenchRecord> records) {
        List<Map<String, Object>> list = new ArrayList<>();
        for (BenchRecord r : records) {
            list.add(r.toJson());
        }
        return MAPPER.writeValueAsString(list) + "\n";
    }

    static String markdown(List<BenchRecord> records, Map<String, String> environment) {
        StringBuilder md = new StringBuilder("# kvcache benchmark results\n\n");
        for (Map.Entry<String, String> e : environment.entrySet()) {
            md.append("- **").append(e.getKey()).append("**: ").append(e.getValue()).append('\n');
        }
        md.append("\n## Throughput against llama.cpp (tokens/s, same file, same threads, same run)\n\n");
        md.append("| model | test | kvcache | llama.cpp | kvcache / llama.cpp | target | met | kvcache KiB allocated per token |\n");
        md.append("|---|---|---:|---:|---:|---:|:---:|---:|\n");
        Map<String, BenchRecord> llama = new LinkedHashMap<>();
        for (BenchRecord r : records) {
            if (r.engine().equals(BenchRecord.LLAMA_CPP)) {
                llama.put(Results.key(r), r);
            }
        }
        for (BenchRecord r : records) {
            if (!r.engine().equals(BenchRecord.KVCACHE) || !isThroughputTest(r.test())) {
                continue;
            }
            BenchRecord ref = llama.get(Results.key(r));
            Object ratio = r.extras().get(Results.RATIO);
            Double target = r.target() != null ? r.target() : Results.targetRatio(r.model(), r.test());
            md.append("| ").append(r.model()).append(" | ").append(r.test()).append(" | ")
                    .append(figure(r)).append(" | ").append(ref == null ? "not run" : figure(ref)).append(" | ")
                    .append(ratio == null ? "-" : format((Number) ratio) + "x").append(" | ")
                    .append(target == null ? "-" : ">= " + format(target) + "x").append(" | ")
                    .append(mark(Results.meetsTarget(r))).append(" | ")
                    .append(r.extras().get("alloc_bytes_per_token") instanceof Number n && n.longValue() >= 0
                            ? format(n.doubleValue() / 1024) : "-")
                    .append(" |\n");
        }
        appendJlamaTable(md, records);
        md.append("\n## Cache and serving benchmarks (kvcache)\n\n");
        md.append("| model | test | result | target | met | notes |\n|---|---|---:|---:|:---:|---|\n");
        for (BenchRecord r : records) {
            if (!r.engine().equals(BenchRecord.KVCACHE) || isThroughputTest(r.test())) {
                continue;
            }
            String result = r.tokensPerSecond() != null ? figure(r) + " tokens/s" : figure(r);
            md.append("| ").append(r.model()).append(" | ").append(r.test()).append(" | ").append(result)
                    .append(" | ").append(r.target() == null ? "-" : ">= " + format(r.target()) + unitSuffix(r))
                    .append(" | ").append(mark(Results.meetsTarget(r))).append(" | ").append(notes(r)).append(" |\n");
        }
        List<BenchRecord> failures = records.stream().filter(r -> r.failed() && isThroughputTestOrEngine(r)).toList();
        if (!failures.isEmpty()) {
            md.append("\n## Not measured\n\n");
            for (BenchRecord r : failures) {
                md.append("- ").append(r.engine()).append(", ").append(r.model()).append(", ").append(r.test())
                        .append(": ").append(r.error()).append('\n');
            }
        }
        return md.toString();
    }

    /** kvcache against Jlama, for the models Jlama ran; nothing when it ran none. */
    private static void appendJlamaTable(StringBuilder md, List<BenchRecord> records) {
        Map<String, BenchRecord> jlama = new LinkedHashMap<>();
        for (BenchRecord r : records) {
            if (r.engine().equals(BenchRecord.JLAMA) && r.tokensPerSecond() != null) {
                jlama.put(Results.key(r), r);
            }
        }
        if (jlama.isEmpty()) {
            return;
        }
        md.append("\n## Throughput against Jlama (tokens/s, same weights, same threads, same run)\n\n");
        md.append("| model | test | kvcache | Jlama | kvcache / Jlama |\n|---|---|---:|---:|---:|\n");
        for (BenchRecord r : records) {
            BenchRecord ref = jlama.get(Results.key(r));
            if (!r.engine().equals(BenchRecord.KVCACHE) || ref == null) {
                continue;
            }
            Object ratio = r.extras().get(Results.RATIO_JLAMA);
            md.append("| ").append(r.model()).append(" | ").append(r.test()).append(" | ").append(figure(r))
                    .append(" | ").append(figure(ref)).append(" | ")
                    .append(ratio == null ? "-" : format((Number) ratio) + "x").append(" |\n");
        }
    }

    private static boolean isThroughputTestOrEngine(BenchRecord r) {
        return !r.engine().equals(BenchRecord.KVCACHE) || isThroughputTest(r.test());
    }

    /** Tests compared with llama.cpp: prompt processing and text generation. */
    static boolean isThroughputTest(String test) {
        return test.matches("(pp|tg)\\d+(@d\\d+)?");
    }

    private static String figure(BenchRecord r) {
        if (r.error() != null) {
            return "error";
        }
        if (r.tokensPerSecond() != null) {
            return format(r.tokensPerSecond());
        }
        if (r.value() != null) {
            return format(r.value()) + unitSuffix(r);
        }
        return "-";
    }

    private static String unitSuffix(BenchRecord r) {
        return r.unit() == null ? "" : r.unit().equals("x") ? "x" : " " + r.unit();
    }

    private static String notes(BenchRecord r) {
        if (r.error() != null) {
            return r.error().replace('|', '/');
        }
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, Object> e : r.extras().entrySet()) {
            Object v = e.getValue();
            parts.add(e.getKey() + "=" + (v instanceof Number n ? format(n) : String.valueOf(v)));
        }
        return String.join(", ", parts).replace('|', '/');
    }

    private static String mark(Boolean met) {
        return met == null ? "-" : met ? "yes" : "**no**";
    }

    static String format(Number n) {
        double v = n.doubleValue();
        if (n instanceof Integer || n instanceof Long) {
            return String.valueOf(n.longValue());
        }
        if (Math.abs(v) >= 100) {
            return String.format(Locale.ROOT, "%.0f", v);
        }
        if (Math.abs(v) >= 10) {
            return String.format(Locale.ROOT, "%.1f", v);
        }
        return String.format(Locale.ROOT, "%.2f", v);
    }

    /**
     * Three stacked bar charts: prompt-processing and decode tokens/s per model and test (one series
     * per engine; they differ by orders of magnitude, hence apart), and kvcache's ratio to llama.cpp.
     */
    static void writeChart(Path file, List<BenchRecord> records) {
        System.setProperty("java.awt.headless", "true");
        CategoryChart pp = throughputChart(records, "pp", "Prompt processing (tokens/s, higher is better)");
        CategoryChart tg = throughputChart(records, "tg", "Decode (tokens/s, higher is better)");
        Map<String, Double> ratios = new LinkedHashMap<>();
        for (BenchRecord r : records) {
            if (r.extras().get(Results.RATIO) instanceof Number n) {
                ratios.put(label(r), n.doubleValue());
            }
        }
        CategoryChart ratio = chart("kvcache / llama.cpp (same run; 1.0 = parity)", "ratio");
        addSeries(ratio, "kvcache / llama.cpp", ratios, List.copyOf(ratios.keySet()));
        try {
            BitmapEncoder.saveBitmap(List.of(pp, tg, ratio), 3, 1, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write chart " + file + ": " + e.getMessage(), e);
        }
    }

    private static CategoryChart throughputChart(List<BenchRecord> records, String prefix, String title) {
        Set<String> categories = new LinkedHashSet<>();
        Map<String, Map<String, Double>> byEngine = new LinkedHashMap<>();
        for (BenchRecord r : records) {
            if (r.tokensPerSecond() != null && isThroughputTest(r.test()) && r.test().startsWith(prefix)) {
                categories.add(label(r));
                byEngine.computeIfAbsent(r.engine(), e -> new LinkedHashMap<>()).put(label(r), r.tokensPerSecond());
            }
        }
        CategoryChart chart = chart(title, "tokens/s");
        List<String> xs = List.copyOf(categories);
        for (Map.Entry<String, Map<String, Double>> e : byEngine.entrySet()) {
            addSeries(chart, e.getKey(), e.getValue(), xs);
        }
        return chart;
    }

    private static CategoryChart chart(String title, String yTitle) {
        CategoryChart chart = new CategoryChartBuilder().width(CHART_WIDTH).height(CHART_HEIGHT).title(title)
                .yAxisTitle(yTitle).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setYAxisMin(0.0);
        return chart;
    }

    /** Adds one bar per category; a category the engine has no figure for gets a zero-height bar, so bars stay aligned. */
    private static void addSeries(CategoryChart chart, String name, Map<String, Double> values, List<String> xs) {
        if (xs.isEmpty()) {
            if (chart.getSeriesMap().isEmpty()) {
                chart.addSeries("nothing measured", List.of("-"), List.of(0.0));
            }
            return;
        }
        List<Double> ys = new ArrayList<>();
        for (String x : xs) {
            ys.add(values.getOrDefault(x, 0.0));
        }
        chart.addSeries(name, xs, ys);
    }

    private static String label(BenchRecord r) {
        return r.model().replace("bench-", "") + " " + r.test();
    }

    static final int CHART_WIDTH = 1100;
    static final int CHART_HEIGHT = 380;
}
