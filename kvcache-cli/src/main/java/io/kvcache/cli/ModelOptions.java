package io.kvcache.cli;

import io.kvcache.cache.KvElementType;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.InferenceEngine;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The model argument and engine options shared by the commands that run a model. */
final class ModelOptions {
    @Parameters(index = "0", paramLabel = "MODEL", description = "GGUF model file")
    Path model = Path.of("");

    @Option(names = "--threads", description = "compute threads (default: one per processor)")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--context", description = "context length of the KV cache (default: the model's, at most 4096)")
    int context;

    @Option(names = "--kv-type", description = "K/V element type: ${COMPLETION-CANDIDATES} (default: F32)")
    KvElementType kvType = KvElementType.F32;

    @Option(names = "--f32-activations",
            description = "multiply Q8_0/Q4_0 weights with F32 activations instead of rounding them to Q8_0 like llama.cpp")
    boolean f32Activations;

    /** Fails with one clear line when the file is missing (before GGUF parsing would say less). */
    static void requireFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("file not found: " + file.toAbsolutePath() + " (check the path)");
        }
    }

    InferenceEngine load(PrintWriter progress) {
        ModelOptions.requireFile(model);
        long start = System.nanoTime();
        progress.print("Loading " + model.getFileName() + " ...");
        progress.flush();
        InferenceEngine engine = InferenceEngine.load(model,
                new EngineOptions(threads).withQuantizedActivations(!f32Activations));
        progress.printf(" %s, %d layers, %d threads, loaded in %d ms%n", engine.config().architecture(),
                engine.config().layers(), engine.threads(), (System.nanoTime() - start) / 1_000_000);
        progress.flush();
        return engine;
    }

    int contextFor(InferenceEngine engine) {
        return context > 0 ? context : Math.min(engine.config().contextLength(), 4096);
    }
}
