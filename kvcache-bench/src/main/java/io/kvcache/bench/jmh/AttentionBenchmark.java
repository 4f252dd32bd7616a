package io.kvcache.bench.jmh;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
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
 * One layer's attention for the newest position over a cached context ({@link KvSequence#attention}),
 * all query heads on one thread, per context length and K/V element type. Heads and head size are
 * those of bench-110m (12 x 64); {@code -p kvHeads=4} gives grouped-query attention.
 *
 * <p>Prefill: the last {@value #RUN} positions of the context (what one chunk of a prompt attends),
 * once as a run through the multi-position {@code attention} ({@link #prefillRun}: each K/V block read
 * and widened once for the run) and once as {@value #RUN} single-position calls
 * ({@link #prefillPerPosition}); the outputs are bit-identical.
 *
 * <p>A JMH state object: JMH drives it from one benchmark thread (not thread-safe otherwise).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR, JvmFlags.NATIVE})
public class AttentionBenchmark {
    @Param({"128", "1024", "2048"})
    public int context;

    @Param({"F32", "F16", "Q8_0"})
    public KvElementType kvType;

    @Param({"12"})
    public int heads;

    @Param({"12"})
    public int kvHeads;

    @Param({"64"})
    public int headDim;

    private KvCache cache;
    private KvSequence sequence;
    private float[] q;
    private float[] out;
    private float[] scratch;
    /** Positions attended together in the prefill benchmarks (the model's chunk size). */
    static final int RUN = 32;
    private float[] runQ;
    private float[] runOut;
    private float[] runScratch;

    @Setup(Level.Trial)
    public void setUp() {
        KvCacheSpec spec = KvCacheSpec.builder().layers(1).kvHeads(kvHeads).headDim(headDim).contextLength(context)
                .elementType(kvType).build();
        cache = KvCache.builder(spec).maxSequences(1).build();
        sequence = cache.newSequence();
        Random random = new Random(11);
        int kvDim = kvHeads * headDim;
        sequence.reserve(context);
        for (int p = 0; p < context; p++) {
            sequence.store(0, p, random.gaussian(kvDim, 1), 0, random.gaussian(kvDim, 1), 0);
        }
        sequence.advance(context);
        q = random.gaussian(heads * headDim, 1);
        out = new float[heads * headDim];
        scratch = new float[sequence.attentionScratchSize()];
        runQ = random.gaussian(RUN * heads * headDim, 1);
        runOut = new float[RUN * heads * headDim];
        runScratch = new float[sequence.attentionScratchSize(heads, RUN)];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        sequence.close();
        cache.close();
    }

    @Benchmark
    public float[] attention() {
        sequence.attention(0, context - 1, heads, q, 0, out, 0, 0, heads, scratch);
        return out;
    }

    @Benchmark
    public float[] prefillRun() {
        int width = heads * headDim;
        sequence.attention(0, context - RUN, RUN, heads, runQ, 0, width, runOut, 0, width, 0, heads, runScratch);
        return runOut;
    }

    @Benchmark
    public float[] prefillPerPosition() {
        int width = heads * headDim;
        for (int i = 0; i < RUN; i++) {
            sequence.attention(0, context - RUN + i, heads, runQ, i * width, runOut, i * width, 0, heads, runScratch);
        }
        return runOut;
    }
}
