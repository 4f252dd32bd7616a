package io.kvcache.bench.jmh;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.Quantizer;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** Seeded random inputs for benchmarks. Not thread-safe (one per setup method). */
final class Random {
    private final SplittableRandom rng;

    Random(long seed) {
        this.rng = new SplittableRandom(seed);
    }

    /** Gaussian values with standard deviation {@code std}. */
    float[] gaussian(int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            double u1 = 1.0 - rng.nextDouble();
            double u2 = rng.nextDouble();
            v[i] = (float) (Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2) * std);
        }
        return v;
    }

    /**
     * A {@code rows x cols} weight matrix of {@code type} in {@code arena} (off-heap, as a mapped model is:
     * kernels are slower on array-backed segments): quantized Gaussian weights where the quantizer
     * supports the type, random blocks otherwise.
     */
    MemorySegment weights(GgmlType type, int rows, int cols, Arena arena) {
        byte[] bytes = Quantizer.QUANTIZABLE.contains(type)
                ? Quantizer.quantize(type, gaussian(rows * cols, 1 / Math.sqrt(cols)))
                : Quantizer.randomBlocks(type, rows * cols / type.blockSize(), rng);
        MemorySegment data = arena.allocate(bytes.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, data, 0, bytes.length);
        return data;
    }

    SplittableRandom generator() {
        return rng;
    }
}
