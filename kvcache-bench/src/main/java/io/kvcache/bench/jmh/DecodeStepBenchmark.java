package io.kvcache.bench.jmh;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.model.SyntheticModel;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One whole decode step (one token through every layer plus the logits) of a bench-110m-shaped
 * synthetic model held in memory, at a fixed depth: after each step the sequence is cut back, so
 * every step sees the same context. Run with {@code -prof gc}: {@code gc.alloc.rate.norm} is what
 * one generated token allocates ({@link #step} reuses its logits buffer as a generation does;
 * {@link #stepFreshLogits} shows what the array-returning {@code forward} adds).
 *
 * <p>A JMH state object: JMH drives it from one benchmark thread (not thread-safe otherwise).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR, JvmFlags.NATIVE, "-Xmx4g"})
public class DecodeStepBenchmark {
    @Param({"Q8_0"})
    public String type;

    @Param({"12"})
    public int layers;

    @Param({"128"})
    public int depth;

    @Param({"F16"})
    public KvElementType kvType;

    @Param({"1"})
    public int threads;

    private InferenceEngine engine;
    private KvCache cache;
    private KvSequence sequence;
    private final int[] token = {400};
    private float[] logits;

    @Setup(Level.Trial)
    public void setUp() {
        byte[] gguf = SyntheticModel.builder().layers(layers).embeddingLength(768).heads(12).kvHeads(12)
                .feedForwardLength(2048).vocabularySize(32_000).contextLength(2048)
                .weightType(GgmlType.valueOf(type)).seed(1).build();
        engine = InferenceEngine.of(GgufFile.read(gguf), new EngineOptions(threads));
        cache = engine.createKvCache(depth + 1, kvType);
        sequence = cache.newSequence();
        int[] prompt = new int[depth];
        for (int i = 0; i < depth; i++) {
            prompt[i] = 300 + i;
        }
        engine.forward(sequence, prompt);
        logits = new float[engine.config().vocabularySize()];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        sequence.close();
        cache.close();
        engine.close();
    }

    /** A step into a reused logits buffer, as {@code Generator} decodes: what steady decoding costs. */
    @Benchmark
    public float[] step() {
        engine.forward(sequence, token, logits);
        sequence.truncate(depth);
        return logits;
    }

    /** A step through the array-returning {@code forward}: adds a fresh logits array per token. */
    @Benchmark
    public float[] stepFreshLogits() {
        float[] fresh = engine.forward(sequence, token);
        sequence.truncate(depth);
        return fresh;
    }
}
