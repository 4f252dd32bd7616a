package io.kvcache.bench.jmh;

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

    SplittableRandom generator() {
        return rng;
    }
}
