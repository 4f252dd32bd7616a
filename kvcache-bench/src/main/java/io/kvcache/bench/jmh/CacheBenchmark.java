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
 * The cache's own costs with bench-110m's geometry (12 layers, 12 KV heads of 64): appending one
 * position (reserve, K/V stores of every layer, advance with its token id, as a decode step does),
 * and reading back one position's keys of one layer.
 *
 * <p>A JMH state object: JMH drives it from one benchmark thread (not thread-safe otherwise).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR, JvmFlags.NATIVE})
public class CacheBenchmark {
    private static final int LAYERS = 12;
    private static final int KV_HEADS = 12;
    private static final int HEAD_DIM = 64;
    private static final int CONTEXT = 2048;
    private static final int FILLED = 1024;

    @Param({"F32", "F16", "Q8_0"})
    public KvElementType kvType;

    private KvCache cache;
    private KvSequence appending;
    private KvSequence reading;
    private float[] k;
    private float[] v;
    private float[] dst;
    private final int[] token = new int[1];
    private int readPosition;

    @Setup(Level.Trial)
    public void setUp() {
        KvCacheSpec spec = KvCacheSpec.builder().layers(LAYERS).kvHeads(KV_HEADS).headDim(HEAD_DIM)
                .contextLength(CONTEXT).elementType(kvType).build();
        cache = KvCache.builder(spec).maxSequences(2).build();
        Random random = new Random(3);
        k = random.gaussian(KV_HEADS * HEAD_DIM, 1);
        v = random.gaussian(KV_HEADS * HEAD_DIM, 1);
        dst = new float[KV_HEADS * HEAD_DIM];
        appending = cache.newSequence();
        reading = cache.newSequence();
        reading.reserve(FILLED);
        for (int p = 0; p < FILLED; p++) {
            for (int l = 0; l < LAYERS; l++) {
                reading.store(l, p, k, 0, v, 0);
            }
        }
        reading.advance(FILLED);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        appending.close();
        reading.close();
        cache.close();
    }

    /** One position through all layers; every 2048 appends the sequence is cut back to empty. */
    @Benchmark
    public int append() {
        if (appending.length() == CONTEXT) {
            appending.truncate(0);
        }
        int position = appending.length();
        appending.reserve(1);
        for (int l = 0; l < LAYERS; l++) {
            appending.store(l, position, k, 0, v, 0);
        }
        token[0] = 3 + position % 1000;
        appending.advance(token);
        return appending.length();
    }

    /** Keys of one position of one layer, all KV heads, dequantized. */
    @Benchmark
    public float[] readKey() {
        readPosition = (readPosition + 1) % FILLED;
        reading.readKey(readPosition % LAYERS, readPosition, dst, 0);
        return dst;
    }
}
