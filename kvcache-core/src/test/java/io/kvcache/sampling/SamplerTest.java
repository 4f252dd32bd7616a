package io.kvcache.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class SamplerTest {

    private static ChainSampler sampler(SamplerSettings.Builder b) {
        return (ChainSampler) Sampler.create(b.seed(1234L).build());
    }

    /** Only the given stage active. */
    private static SamplerSettings.Builder plain() {
        return SamplerSettings.builder().temperature(1).topK(0).topP(1).minP(0);
    }

    @Test
    void greedyPicksArgmaxAndBreaksTiesToTheLowerId() {
        Sampler s = Sampler.create(SamplerSettings.greedy());
        assertEquals(2, s.sample(new float[] {0.1f, 3f, 5f, -1f}));
        assertEquals(1, s.sample(new float[] {0f, 7f, 3f, 7f, 7f}));
        assertEquals(0, s.sample(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}));
        assertEquals(1, s.sample(new float[] {Float.NaN, 2f, 1f}), "NaN logits count as -inf");
        // only the first vocabSize entries are considered (padding rows are ignored)
        assertEquals(1, s.sample(new float[] {0f, 1f, 99f}, 2));
        // log-probability of the argmax under the softmax of the logits
        s.sample(new float[] {2f, 0f});
        assertEquals((float) -Math.log1p(Math.exp(-2)), s.lastLogProbability(), 1e-6f);
    }

    @Test
    void topKKeepsTheKBest() {
        ChainSampler s = sampler(plain().topK(3));
        float[] logits = {1f, 9f, 3f, 7f, 5f, 7f, -2f};
        s.sample(logits);
        assertArrayEquals(new int[] {1, 3, 5}, s.lastCandidates(), "best first, tie at 7 ordered by id");
        Set<Integer> seen = new TreeSet<>();
        for (int i = 0; i < 2000; i++) {
            seen.add(s.sample(logits));
        }
        assertEquals(Set.of(1, 3, 5), seen);
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // probabilities 0.5, 0.25, 0.125, 0.125 (logits are their logs)
        float[] logits = {(float) Math.log(0.125), (float) Math.log(0.5), (float) Math.log(0.125), (float) Math.log(0.25)};
        ChainSampler s = sampler(plain().topP(0.7f));
        s.sample(logits);
        assertArrayEquals(new int[] {1, 3}, s.lastCandidates(), "0.5 < 0.7 <= 0.75");
        s = sampler(plain().topP(0.75f));
        s.sample(logits);
        assertArrayEquals(new int[] {1, 3}, s.lastCandidates(), "reaching p exactly is enough");
        s = sampler(plain().topP(0.8f));
        s.sample(logits);
        assertEquals(3, s.lastCandidates().length);
        s = sampler(plain().topP(0.3f));
        s.sample(logits);
        assertArrayEquals(new int[] {1}, s.lastCandidates());
    }

    @Test
    void minPKeepsTokensAtLeastPTimesAsLikelyAsTheBest() {
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        ChainSampler s = sampler(plain().minP(0.25f)); // threshold 0.125
        s.sample(logits);
        assertArrayEquals(new int[] {0, 1, 2}, s.lastCandidates());
        s = sampler(plain().minP(0.7f)); // threshold 0.35
        s.sample(logits);
        assertArrayEquals(new int[] {0}, s.lastCandidates());
        Set<Integer> seen = new TreeSet<>();
        s = sampler(plain().minP(0.25f));
        for (int i = 0; i < 3000; i++) {
            seen.add(s.sample(logits));
        }
        assertEquals(Set.of(0, 1, 2), seen);
    }

    @Test
    void stagesComposeInLlamaCppOrder() {
        // top-k 3 leaves {0,1,2}; top-p then sees renormalized 0.5/0.3/0.15 -> cut at 0.9 keeps 3; min-p 0.5 keeps {0,1}
        float[] logits = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.15), (float) Math.log(0.05)};
        ChainSampler s = sampler(plain().topK(3).topP(0.9f).minP(0.5f));
        s.sample(logits);
        assertArrayEquals(new int[] {0, 1}, s.lastCandidates());
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogits() {
        ChainSampler s = sampler(plain().repetitionPenalty(2f).penaltyLastN(4));
        float[] logits = {4f, -4f, 4f, -4f, 1f};
        s.accept(0);
        s.accept(1);
        s.accept(1);
        s.sample(logits);
        assertArrayEquals(new float[] {2f, -8f, 4f, -4f, 1f}, s.lastPenalizedLogits(5), "each token penalized once");
        assertArrayEquals(new float[] {4f, -4f, 4f, -4f, 1f}, logits, "the caller's logits are untouched");
    }

    @Test
    void frequencyAndPresencePenaltiesSubtract() {
        ChainSampler s = sampler(plain().frequencyPenalty(0.5f).presencePenalty(0.25f).penaltyLastN(3));
        for (int t : new int[] {2, 0, 2, 2}) { // window of 3 keeps 0, 2, 2
            s.accept(t);
        }
        s.sample(new float[] {1f, 1f, 1f});
        // token 0: 1 - (1 * 0.5 + 0.25); token 2: 1 - (2 * 0.5 + 0.25)
        assertArrayEquals(new float[] {0.25f, 1f, -0.25f}, s.lastPenalizedLogits(3), 1e-6f);
        s.reset();
        s.sample(new float[] {1f, 1f, 1f});
        assertArrayEquals(new float[] {1f, 1f, 1f}, s.lastPenalizedLogits(3), "reset forgets history");
    }

    @Test
    void penaltiesChangeGreedyChoices() {
        Sampler s = Sampler.create(SamplerSettings.greedy().toBuilder().repetitionPenalty(3f).build());
        float[] logits = {2f, 1f};
        assertEquals(0, s.sample(logits));
        s.accept(0);
        assertEquals(1, s.sample(logits), "2/3 < 1");
    }

    @Test
    void sameSeedSameChoices() {
        Random r = new Random(7);
        float[] logits = new float[1000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian() * 2;
        }
        SamplerSettings settings = SamplerSettings.builder().topK(0).topP(1).minP(0).temperature(1.5f).seed(99L).build();
        int[] a = run(Sampler.create(settings), logits);
        int[] b = run(Sampler.create(settings), logits);
        assertArrayEquals(a, b);
        int[] c = run(Sampler.create(settings.toBuilder().seed(100L).build()), logits);
        assertNotEquals(Arrays.toString(a), Arrays.toString(c));
        assertTrue(Arrays.stream(a).distinct().count() > 20, "a high temperature spreads choices");
        assertEquals(99L, Sampler.create(settings).seed());
    }

    private static int[] run(Sampler s, float[] logits) {
        int[] out = new int[200];
        for (int i = 0; i < out.length; i++) {
            out[i] = s.sample(logits);
            s.accept(out[i]);
        }
        return out;
    }

    @Test
    void temperatureOneMatchesSoftmaxFrequencies() {
        float[] logits = {1.0f, 2.0f, 0.5f, -1.0f, 1.5f};
        double max = 2.0;
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        Sampler s = Sampler.create(plain().seed(42L).build());
        int n = 200_000;
        int[] counts = new int[logits.length];
        for (int i = 0; i < n; i++) {
            int id = s.sample(logits);
            counts[id]++;
            assertEquals((float) Math.log(p[id] / sum), s.lastLogProbability(), 1e-5f);
        }
        for (int i = 0; i < p.length; i++) {
            double expected = p[i] / sum;
            double sigma = Math.sqrt(expected * (1 - expected) / n);
            assertEquals(expected, counts[i] / (double) n, 5 * sigma, "frequency of token " + i);
        }
    }

    @Test
    void lowTemperatureSharpensHighFlattens() {
        float[] logits = {1f, 0f};
        double cold = frequencyOfZero(0.25f, logits);
        double hot = frequencyOfZero(4f, logits);
        // p0 = 1 / (1 + e^(-1/T)): 0.982 at T=0.25, 0.562 at T=4
        assertEquals(0.982, cold, 0.01);
        assertEquals(0.562, hot, 0.02);
    }

    private static double frequencyOfZero(float temperature, float[] logits) {
        Sampler s = Sampler.create(plain().temperature(temperature).seed(5L).build());
        int zero = 0;
        for (int i = 0; i < 20_000; i++) {
            zero += s.sample(logits) == 0 ? 1 : 0;
        }
        return zero / 20_000.0;
    }

    @Test
    void samplingAllocatesNothingAfterWarmUp() {
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        float[] logits = new float[32_000];
        Random r = new Random(3);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian();
        }
        for (SamplerSettings settings : new SamplerSettings[] {
                SamplerSettings.defaults().toBuilder().repetitionPenalty(1.1f).seed(1L).build(),
                SamplerSettings.greedy(),
                plain().topP(0.9f).seed(2L).build()}) {
            Sampler s = Sampler.create(settings);
            for (int i = 0; i < 300; i++) { // warm-up: buffers grow, JIT compiles
                s.accept(s.sample(logits));
            }
            // Rounds of 200 calls until C2 has compiled the sampler (C1 code does not scalar-replace
            // what C2 does, and on a loaded machine compilation can lag the warm-up); the steady state
            // must then allocate nothing.
            long allocated = Long.MAX_VALUE;
            for (int round = 0; round < 30 && allocated >= 16_384; round++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 200; i++) {
                    s.accept(s.sample(logits));
                }
                allocated = threads.getCurrentThreadAllocatedBytes() - before;
            }
            assertTrue(allocated < 16_384, settings + " allocated " + allocated + " bytes in 200 calls");
        }
    }

    @Test
    void rejectsBadInput() {
        Sampler s = Sampler.create(SamplerSettings.defaults());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.sample(new float[3], 4));
        assertTrue(e.getMessage().contains("vocabSize 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> s.sample(new float[0]));
        assertThrows(IllegalArgumentException.class, () -> s.accept(-1));
    }
}
