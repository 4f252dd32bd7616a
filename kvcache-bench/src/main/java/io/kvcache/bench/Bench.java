package io.kvcache.bench;

import io.kvcache.cache.KvElementType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The end-to-end benchmark: writes the synthetic models, measures kvcache and llama.cpp on each
 * (pp128, pp512, tg128, tg128@d512, tg128@d1024), measures what the cache buys on one model, and
 * writes {@code results.json}, {@code results.md} and {@code results.png}.
 *
 * <p>Run it with {@code kvcache-bench/run [--quick]} at the repository root. Not thread-safe.
 */
@Command(name = "kvcache-bench", mixinStandardHelpOptions = true,
        description = "Benchmarks kvcache against llama.cpp on synthetic Llama models and writes results.{json,md,png}.")
public final class Bench implements Callable<Integer> {
    static final String[] THROUGHPUT_TESTS = {"pp128", "pp512", "tg128", "tg128@d512", "tg128@d1024"};
    static final int DECODE_STEPS = 128;
    static final String JLAMA_VERSION = "0.8.4";
    static final int SHORT_PROMPT = 8;
    /** Different questions after a shared 1000-token prefix: each starts with another token, so a hit reuses only the prefix. */
    static final String[] QUESTIONS = {" Once upon a time there was a little dog.", " What did the little dog find?",
        " Where did she go after school?", " Tell me why the sky is blue.", " Can you write a poem about trees?",
        " Please summarise the story above.", " How many friends did he have?"};

    @Option(names = "--quick", description = "bench-110m models only, fewer repetitions (under 10 minutes)")
    boolean quick;

    @Option(names = "--smoke", description = "2-layer variants of the quick models: checks the machinery in a minute;"
            + " the figures are not the benchmark's")
    boolean smoke;

    @Option(names = "--prepare", description = "only write (or check) the model files, measure nothing")
    boolean prepareOnly;

    @Option(names = "--out", description = "output directory (default: ${DEFAULT-VALUE})")
    Path out = defaultOutput();

    @Option(names = "--threads", description = "compute threads for both engines (default: all processors)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--kv-type", description = "kvcache K/V element type: F32, F16 (llama.cpp's default) or Q8_0 (default: ${DEFAULT-VALUE})")
    KvElementType kvType = KvElementType.F16;

    @Option(names = "--batch", description = "llama.cpp batch and micro-batch size (default: ${DEFAULT-VALUE})")
    int batch = 512;

    @Option(names = "--models", split = ",", description = "only these models (e.g. bench-110m-q8_0)")
    @Nullable List<String> onlyModels;

    @Option(names = "--cache-model", description = "model for the cache benchmarks (default: ${DEFAULT-VALUE})")
    String cacheModel = "bench-110m-q8_0";

    @Option(names = "--skip-llama-cpp", description = "measure kvcache only")
    boolean skipLlamaCpp;

    @Option(names = "--skip-jlama", description = "do not measure Jlama")
    boolean skipJlama;

    @Option(names = "--skip-cache-benchmarks", description = "skip recompute, prefix-cache, concurrency and KV-size measurements")
    boolean skipCacheBenchmarks;

    @Option(names = "--same-jvm", description = "measure every model in this JVM; by default each model runs in a JVM of"
            + " its own, as one application serving one model would: in a shared JVM the code the JIT compiled for the"
            + " models before slows the next one down (measured: Q4_0 decode 54-121 tokens/s after Q8_0, 160-169 alone)")
    boolean sameJvm;

    /** Set in the JVM that measures one model for a parent run: no table on standard output. */
    @Option(names = "--child", hidden = true)
    boolean child;

    /** With {@code --child}: measure Jlama only (a JVM of its own, as each engine gets). */
    @Option(names = "--jlama-only", hidden = true)
    boolean jlamaOnly;

    private final List<BenchRecord> records = new ArrayList<>();
    private final Map<String, String> environment = new LinkedHashMap<>();

    public static void main(String[] args) {
        System.exit(new CommandLine(new Bench()).setCaseInsensitiveEnumValuesAllowed(true).execute(args));
    }

    static Path defaultOutput() {
        Path module = Path.of("kvcache-bench");
        return Files.isDirectory(module) ? module.resolve("target/bench") : Path.of("target/bench");
    }

    /**
     * Repetitions of one run mode (medians for both engines). Immutable. The kvcache warm-up runs 128
     * decode steps so that C2 has compiled the decode kernels before anything is timed: with 16, the
     * first tg128 run of a model still ran partly interpreted or in C1 code (measured up to 1.8x slower
     * than the following runs), a JVM start-up cost rather than decoding speed.
     */
    record Plan(int promptReps, int decodeRuns, int warmUpSteps, int recomputeSteps, int prefixHitReps,
                int concurrentTokens, int[] concurrency, int kvTypeDecodeSteps, int jlamaRuns) {
        static Plan of(boolean quick) {
            // Jlama runs about a tenth as fast: one run of each test keeps --quick under 10 minutes.
            return quick ? new Plan(3, 3, 128, 1, 3, 64, new int[] {1, 2, 4, 8}, 48, 1)
                    : new Plan(5, 3, 128, 2, 5, 128, new int[] {1, 2, 4, 8}, 128, 3);
        }
    }

    @Override
    public Integer call() throws IOException {
        long start = System.nanoTime();
        Plan plan = Plan.of(quick || smoke);
        if (smoke) {
            cacheModel = cacheModel.replace("bench-110m", "smoke-110m");
        }
        describeEnvironment();
        Path vocabPath = ModelFiles.findLlamaVocabulary().orElse(null);
        environment.put("vocabulary", vocabPath == null ? "synthetic default (shared/models/vocab not found)"
                : vocabPath.getFileName().toString());
        try (GgufFile vocab = vocabPath == null ? null : GgufFile.open(vocabPath)) {
            ModelFiles files = new ModelFiles(out.resolve("models"), vocab == null ? null : vocab.metadata());
            for (BenchModel model : models()) {
                if (onlyModels != null && !onlyModels.contains(model.name())) {
                    continue;
                }
                long t0 = System.nanoTime();
                log("model %s: writing or checking the file", model.name());
                Path file = files.ensure(model);
                log("model %s: ready (%.1f MiB) in %.1f s", model.name(), Files.size(file) / 1048576.0, seconds(t0));
                if (prepareOnly) {
                    continue;
                }
                if (jlamaOnly) {
                    measureJlama(model, file, plan);
                } else if (sameJvm || child) {
                    measureKvcache(model, file, plan);
                    if (skipLlamaCpp) {
                        records.add(BenchRecord.failure(BenchRecord.LLAMA_CPP, model.name(), "*",
                                "skipped (--skip-llama-cpp)"));
                    } else {
                        measureLlamaCpp(model, file, plan);
                    }
                    if (sameJvm && !skipJlama) {
                        measureJlama(model, file, plan);
                    }
                } else {
                    records.addAll(ModelProcess.measure(BenchRecord.KVCACHE, model.name(), model.name(),
                            childArguments(model.name()), out));
                    if (!skipJlama) {
                        records.addAll(jlamaInChild(model));
                    }
                }
                writeResults(start);
            }
        }
        if (prepareOnly || child) {
            return 0;
        }
        writeResults(start);
        System.out.println(Files.readString(out.resolve(ResultWriter.MARKDOWN)));
        log("done in %.0f s; results in %s", seconds(start), out.toAbsolutePath());
        return 0;
    }

    /** The options of this run for a child JVM that measures only {@code model}. */
    List<String> childArguments(String model) {
        List<String> args = new ArrayList<>(List.of("--child", "--models", model, "--threads", String.valueOf(threads),
                "--kv-type", kvType.name(), "--batch", String.valueOf(batch), "--cache-model", cacheModel));
        if (quick) {
            args.add("--quick");
        }
        if (smoke) {
            args.add("--smoke");
        }
        if (skipLlamaCpp) {
            args.add("--skip-llama-cpp");
        }
        if (skipCacheBenchmarks) {
            args.add("--skip-cache-benchmarks");
        }
        if (skipJlama) {
            args.add("--skip-jlama");
        }
        return args;
    }

    /** Jlama on {@code model} in a JVM of its own, or why it cannot run it. */
    private List<BenchRecord> jlamaInChild(BenchModel model) {
        if (JlamaModelFiles.jlamaType(model.type()).isEmpty()) {
            return List.of(jlamaNotComparable(model));
        }
        List<String> args = new ArrayList<>(childArguments(model.name()));
        args.add("--jlama-only");
        return ModelProcess.measure(BenchRecord.JLAMA, model.name(), model.name() + "-jlama", args, out);
    }

    private static BenchRecord jlamaNotComparable(BenchModel model) {
        return BenchRecord.failure(BenchRecord.JLAMA, model.name(), "*", "not comparable: Jlama (jlama-core "
                + JLAMA_VERSION + ") has no kernels for " + model.type() + " weights (its products take F32, BF16 or"
                + " its own Q4)");
    }

    private void measureJlama(BenchModel model, Path gguf, Plan plan) {
        String name = model.name();
        if (JlamaModelFiles.jlamaType(model.type()).isEmpty()) {
            records.add(jlamaNotComparable(model));
            return;
        }
        try {
            long t0 = System.nanoTime();
            log("jlama %s: writing or checking its copy of the weights", name);
            Path dir = JlamaModelFiles.ensure(gguf, model.type());
            log("jlama %s: ready in %.1f s; loading", name, seconds(t0));
            try (JlamaRunner runner = JlamaRunner.load(dir, threads); GgufFile file = GgufFile.open(gguf)) {
                Tokenizer tok = Tokenizer.fromGguf(file.metadata());
                runner.decode(Prompts.ofLength(tok, 32).ids(), plan.warmUpSteps()); // JIT warm-up, as for kvcache
                for (String test : THROUGHPUT_TESTS) {
                    records.add(measure(BenchRecord.JLAMA, name, test, () -> jlamaTest(runner, tok, test, plan)));
                }
            }
        } catch (RuntimeException | Error e) {
            log("jlama %s: failed: %s", name, e);
            records.add(BenchRecord.failure(BenchRecord.JLAMA, name, "*", describe(e)));
        }
    }

    private BenchRecord jlamaTest(JlamaRunner runner, Tokenizer tok, String test, Plan plan) {
        if (test.startsWith("pp")) {
            int n = Integer.parseInt(test.substring(2));
            double tps = runner.promptThroughput(Prompts.ofLength(tok, n).ids(), plan.jlamaRuns());
            return BenchRecord.throughput(BenchRecord.JLAMA, "", test, tps).with("reps", plan.jlamaRuns());
        }
        int depth = depthOf(test);
        int[] prompt = Prompts.ofLength(tok, depth).ids();
        double[] rates = new double[plan.jlamaRuns()];
        for (int i = 0; i < rates.length; i++) {
            rates[i] = runner.decode(prompt, DECODE_STEPS);
        }
        return BenchRecord.throughput(BenchRecord.JLAMA, "", test, Stats.median(rates)).with("runs", rates.length)
                .with("prompt_tokens", depth);
    }

    List<BenchModel> models() {
        if (!smoke) {
            return BenchModel.standardSet(quick);
        }
        return BenchModel.standardSet(true).stream().map(m -> m.withLayers(2, "smoke-110m")).toList();
    }

    private void measureKvcache(BenchModel model, Path file, Plan plan) {
        String name = model.name();
        try (InferenceEngine engine = InferenceEngine.load(file, new EngineOptions(threads));
             KvcacheRunner runner = new KvcacheRunner(engine, model.contextLength(), kvType)) {
            Tokenizer tok = engine.tokenizer();
            log("kvcache %s: warming up", name);
            runner.warmUp(Prompts.ofLength(tok, 32).ids(), plan.warmUpSteps());
            for (String test : THROUGHPUT_TESTS) {
                records.add(measure(BenchRecord.KVCACHE, name, test, () -> kvcacheTest(runner, tok, test, plan)));
            }
            if (!skipCacheBenchmarks && name.equals(cacheModel)) {
                runCacheBenchmarks(engine, model, tok, plan);
            } else if (!skipCacheBenchmarks) {
                // Batching gains depend on the weight type (memory- or compute-bound products): every model.
                runConcurrentDecoding(new CacheBenchmarks(engine, name, kvType, model.contextLength()), name, tok, plan);
            }
        } catch (RuntimeException | Error e) {
            log("kvcache %s: failed: %s", name, e);
            records.add(BenchRecord.failure(BenchRecord.KVCACHE, name, "*", describe(e)));
        }
    }

    private BenchRecord kvcacheTest(KvcacheRunner runner, Tokenizer tok, String test, Plan plan) {
        if (test.startsWith("pp")) {
            int n = Integer.parseInt(test.substring(2));
            double tps = runner.promptThroughput(Prompts.ofLength(tok, n).ids(), plan.promptReps());
            return BenchRecord.throughput(BenchRecord.KVCACHE, "", test, tps).with("reps", plan.promptReps());
        }
        int depth = depthOf(test);
        int[] prompt = Prompts.ofLength(tok, depth).ids();
        double[] rates = new double[plan.decodeRuns()];
        KvcacheRunner.Decode last = null;
        for (int i = 0; i < rates.length; i++) {
            last = runner.decode(prompt, DECODE_STEPS);
            rates[i] = last.tokensPerSecond();
        }
        return BenchRecord.throughput(BenchRecord.KVCACHE, "", test, Stats.median(rates))
                .with("runs", rates.length).with("prompt_tokens", depth)
                .with("alloc_bytes_per_token", last.allocatedBytesPerToken())
                .with("gc_count", last.collections()).with("gc_ms", last.collectionMillis());
    }

    private void runCacheBenchmarks(InferenceEngine engine, BenchModel model, Tokenizer tok, Plan plan) {
        CacheBenchmarks cache = new CacheBenchmarks(engine, model.name(), kvType, model.contextLength());
        double cached = records.stream()
                .filter(r -> r.engine().equals(BenchRecord.KVCACHE) && r.model().equals(model.name())
                        && r.test().equals("tg128@d1024") && r.tokensPerSecond() != null)
                .mapToDouble(BenchRecord::tokensPerSecond).findFirst().orElse(-1);
        log("kvcache %s: decode at depth 1024 without the cache (%d step(s))", model.name(), plan.recomputeSteps());
        addAll(model.name(), "cache_speedup@d1024",
                () -> cache.recomputeAtDepth(Prompts.ofLength(tok, 1024).ids(), plan.recomputeSteps(), cached));
        log("kvcache %s: time to first token, prefix-cache hit vs cold", model.name());
        List<int[]> tails = new ArrayList<>();
        for (int i = 0; i <= plan.prefixHitReps(); i++) {
            tails.add(Prompts.tail(tok, QUESTIONS[i % QUESTIONS.length]));
        }
        addAll(model.name(), "prefix_hit_ttft_speedup@1000",
                () -> cache.prefixHitTimeToFirstToken(Prompts.ofLength(tok, 1000).ids(), tails));
        runConcurrentDecoding(cache, model.name(), tok, plan);
        addAll(model.name(), "kv_bytes_per_token", () -> cache.bytesPerToken(1000));
        log("kvcache %s: decode at depth 1024 with the other K/V types", model.name());
        addAll(model.name(), "decode@d1024 by K/V type", () -> decodeByKvType(engine, model, tok, cached, plan));
    }

    private void runConcurrentDecoding(CacheBenchmarks cache, String model, Tokenizer tok, Plan plan) {
        log("kvcache %s: concurrent decoding", model);
        addAll(model, "concurrent_decode", () -> cache.concurrentDecode(
                Prompts.ofLength(tok, SHORT_PROMPT).ids(), plan.concurrentTokens(), plan.concurrency()));
    }

    /** tg at depth 1024 with each K/V type other than the run's: what the element type costs in attention. */
    private List<BenchRecord> decodeByKvType(InferenceEngine engine, BenchModel model, Tokenizer tok, double runTypeRate,
            Plan plan) {
        List<BenchRecord> out = new ArrayList<>();
        int[] prompt = Prompts.ofLength(tok, 1024).ids();
        for (KvElementType type : KvElementType.values()) {
            if (type == kvType) {
                continue;
            }
            try (KvcacheRunner runner = new KvcacheRunner(engine, model.contextLength(), type)) {
                KvcacheRunner.Decode d = runner.decode(prompt, plan.kvTypeDecodeSteps());
                out.add(BenchRecord.throughput(BenchRecord.KVCACHE, model.name(), "decode@d1024 K/V " + type,
                                Results.round(d.tokensPerSecond(), 2))
                        .with("steps", d.steps()).with("run_kv_type", kvType.name())
                        .with("run_kv_type_tokens_per_second", Results.round(runTypeRate, 2)));
            }
        }
        return out;
    }

    private void addAll(String model, String test, Callable<List<BenchRecord>> measurement) {
        try {
            List<BenchRecord> got = measurement.call();
            got.forEach(r -> log("  %s %s = %s", r.model(), r.test(),
                    r.tokensPerSecond() != null ? r.tokensPerSecond() + " tokens/s" : r.value() + " " + r.unit()));
            records.addAll(got);
        } catch (Exception | Error e) {
            log("kvcache %s %s: failed: %s", model, test, e);
            records.add(BenchRecord.failure(BenchRecord.KVCACHE, model, test, describe(e)));
        }
    }

    private void measureLlamaCpp(BenchModel model, Path file, Plan plan) {
        String name = model.name();
        LlamaCppRunner runner;
        try {
            log("llama.cpp %s: loading", name);
            runner = LlamaCppRunner.load(file, threads, model.contextLength(), batch, model.vocab());
        } catch (Throwable e) {
            log("llama.cpp %s: cannot load: %s", name, e);
            for (String test : THROUGHPUT_TESTS) {
                records.add(BenchRecord.failure(BenchRecord.LLAMA_CPP, name, test, "llama.cpp did not load the model: "
                        + describe(e)));
            }
            return;
        }
        try (runner; GgufFile gguf = GgufFile.open(file)) {
            Tokenizer tok = Tokenizer.fromGguf(gguf.metadata());
            for (String test : THROUGHPUT_TESTS) {
                records.add(measure(BenchRecord.LLAMA_CPP, name, test, () -> llamaTest(runner, tok, test, plan)));
            }
        } catch (Throwable e) {
            log("llama.cpp %s: failed: %s", name, e);
            records.add(BenchRecord.failure(BenchRecord.LLAMA_CPP, name, "*", describe(e)));
        }
    }

    private BenchRecord llamaTest(LlamaCppRunner runner, Tokenizer tok, String test, Plan plan) {
        if (test.startsWith("pp")) {
            int n = Integer.parseInt(test.substring(2));
            Prompts.Prompt p = Prompts.ofLength(tok, n);
            double tps = runner.promptThroughput(p.text(), n, plan.promptReps());
            return BenchRecord.throughput(BenchRecord.LLAMA_CPP, "", test, tps).with("reps", plan.promptReps())
                    .with("llama_cpp_text_tokens", runner.countTokens(p.text()));
        }
        int depth = depthOf(test);
        Prompts.Prompt p = Prompts.ofLength(tok, depth);
        double[] rates = new double[plan.decodeRuns()];
        LlamaCppRunner.Decode last = null;
        for (int i = 0; i < rates.length; i++) {
            last = runner.decode(p.text(), DECODE_STEPS);
            rates[i] = last.tokensPerSecond();
        }
        return BenchRecord.throughput(BenchRecord.LLAMA_CPP, "", test, Stats.median(rates)).with("runs", rates.length)
                .with("prompt_tokens", depth)
                .with("single_token_request_s", Results.round(last.secondsWithoutDecode(), 4));
    }

    /** Prompt depth of a decode test: {@code tg128} runs after a short prompt, {@code tg128@d512} after 512 tokens. */
    static int depthOf(String test) {
        int at = test.indexOf("@d");
        return at < 0 ? SHORT_PROMPT : Integer.parseInt(test.substring(at + 2));
    }

    private BenchRecord measure(String engine, String model, String test, Callable<BenchRecord> body) {
        long t0 = System.nanoTime();
        try {
            BenchRecord r = body.call();
            BenchRecord named = new BenchRecord(engine, model, test, r.tokensPerSecond(), r.value(), r.unit(), r.target(),
                    r.error(), r.extras());
            log("%-9s %-18s %-12s %8.2f tokens/s  (%.1f s)", engine, model, test,
                    named.tokensPerSecond() == null ? Double.NaN : named.tokensPerSecond(), seconds(t0));
            return named;
        } catch (Throwable e) {
            log("%s %s %s: failed: %s", engine, model, test, e);
            return BenchRecord.failure(engine, model, test, describe(e));
        }
    }

    private void describeEnvironment() {
        environment.put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        environment.put("mode", smoke ? "--smoke (2-layer models: checks the machinery, not a benchmark)"
                : quick ? "--quick (bench-110m models only, fewer repetitions)" : "full");
        environment.put("cpu", cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " processors");
        environment.put("jvm", System.getProperty("java.vm.name") + " " + Runtime.version());
        environment.put("vector API", vectorLanes());
        environment.put("threads", threads + " (both engines)");
        environment.put("kvcache K/V type", kvType + " (llama.cpp: its default, F16)");
        environment.put("llama.cpp", "de.kherud:llama 4.1.0 (JNI, its bundled llama.cpp; build and CPU features in"
                + " bench.log), batch " + batch + ", greedy; pp = one request with n_predict 1, prompt cache off;"
                + " tg = time(n_predict 129) - time(n_predict 1), prompt cached");
        environment.put("jlama", skipJlama ? "skipped (--skip-jlama)" : "jlama-core " + JLAMA_VERSION + " (Vector API,"
                + " no native code), the same weights written as safetensors (Q4_0 requantized by Jlama to its Q4;"
                + " output projection F32, as its loader keeps it), F32 working memory, greedy; "
                + (sameJvm ? "in the same JVM as the others (--same-jvm)" : "a JVM of its own"));
        environment.put("JVMs", sameJvm ? "every model in one JVM (--same-jvm)"
                : "each model in a JVM of its own (what the JIT compiled for one model slows the next)");
        environment.put("load average at start", loadAverage());
    }

    private void writeResults(long start) {
        Map<String, String> env = new LinkedHashMap<>(environment);
        env.put("load average at end", loadAverage());
        env.put("duration", String.format(Locale.ROOT, "%.0f s", seconds(start)));
        String load = loadAverage();
        double oneMinute = load.isEmpty() ? 0 : Double.parseDouble(load.split(" ")[0]);
        if (oneMinute > Runtime.getRuntime().availableProcessors() / 2.0) {
            env.put("caution", "other processes loaded the CPU during this run (load average above half the"
                    + " processors): absolute figures are low and noisy; ratios compare engines measured back to back");
        }
        ResultWriter.write(out, records, env);
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip();
                }
            }
        } catch (IOException | RuntimeException e) {
            return System.getProperty("os.arch");
        }
        return System.getProperty("os.arch");
    }

    static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).split("\\s+");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    static String vectorLanes() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            return "off (jdk.incubator.vector not added: scalar kernels)";
        }
        try {
            Object species = Class.forName("jdk.incubator.vector.FloatVector").getField("SPECIES_PREFERRED").get(null);
            int lanes = (int) Class.forName("jdk.incubator.vector.VectorSpecies").getMethod("length").invoke(species);
            return "on, " + lanes + " float lanes (" + lanes * 32 + "-bit vectors)";
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "on (lane count unknown: " + e + ")";
        }
    }

    private static String describe(Throwable e) {
        String msg = e.getMessage();
        return e.getClass().getSimpleName() + (msg == null ? "" : ": " + msg.strip().replaceAll("\\s+", " "));
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static void log(String format, Object... args) {
        System.err.printf(Locale.ROOT, "[bench] " + format + "%n", args);
    }
}
