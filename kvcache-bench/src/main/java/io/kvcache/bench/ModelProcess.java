package io.kvcache.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * Measures one model in a JVM of its own: the same java, flags and class path as this one, running
 * {@link Bench} with {@code --child} for that model only; its progress goes to this process's
 * output and its records come back through the {@code results.json} it writes.
 *
 * <p>Why: the JIT compiles the engine's shared code (the matvec dispatch, the memory-segment and
 * vector plumbing of the JDK) for the models measured first, and the next model in the same JVM
 * then ran well below its speed alone (Q4_0 decode after Q8_0: 54-121 tokens/s in four runs,
 * 160-169 alone; Q8_0 after Q4_0: 113-141 against 170). An application serves one model per JVM as
 * a rule, and llama.cpp has no such history, so each model gets a fresh JVM.
 */
final class ModelProcess {
    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    private ModelProcess() {
    }

    /**
     * The records of {@code model} measured by a child JVM with {@code arguments}, writing into
     * {@code per-model/<directory>} under {@code out}; a failure record of {@code engine} when the
     * child fails.
     */
    static List<BenchRecord> measure(String engine, String model, String directory, List<String> arguments, Path out) {
        Path dir = out.resolve("per-model").resolve(directory);
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin",
                "java").toString()));
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Bench.class.getName());
        command.addAll(arguments);
        command.add("--out");
        command.add(dir.toString());
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(dir.resolve(ResultWriter.JSON));
            Process process = new ProcessBuilder(command).inheritIO().start();
            int exit = process.waitFor();
            Path json = dir.resolve(ResultWriter.JSON);
            if (exit != 0 || !Files.exists(json)) {
                return List.of(BenchRecord.failure(engine, model, "*",
                        "the JVM measuring this model exited with " + exit + "; its log is in bench.log"));
            }
            return read(Files.readString(json));
        } catch (IOException e) {
            return List.of(BenchRecord.failure(engine, model, "*",
                    "cannot run a JVM for this model: " + e.getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring " + model, e);
        }
    }

    /** Records from {@code results.json} text; the ratios to the peers are dropped (the merged results recompute them). */
    static List<BenchRecord> read(String json) {
        List<Map<String, Object>> list = MAPPER.readValue(json, new TypeReference<List<Map<String, Object>>>() { });
        List<BenchRecord> records = new ArrayList<>(list.size());
        for (Map<String, Object> m : list) {
            m.remove(Results.RATIO);
            m.remove(Results.RATIO_JLAMA);
            records.add(BenchRecord.fromJson(m));
        }
        return records;
    }
}
