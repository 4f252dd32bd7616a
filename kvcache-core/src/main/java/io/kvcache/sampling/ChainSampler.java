package io.kvcache.sampling;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;

/**
 * llama.cpp's sampler chain: penalties -> top-k -> top-p -> min-p -> temperature -> draw (or
 * argmax at temperature 0). Candidates are kept as sorted {@code long} keys (logit order in the
 * high half, id in the low half) so sorting needs no boxing or comparator. Not thread-safe.
 */
final class ChainSampler implements Sampler {

    private final SamplerSettings settings;
    private final long seed;
    private final SplittableRandom random;

    /** Ring of the last {@code penaltyLastN} accepted tokens, and their counts. */
    private final int[] recent;
    private int recentStart;
    private int recentSize;
    private int[] counts = new int[0];
    /** Per-token stamp so each recent token is penalized once per call. */
    private int[] penalizedAt = new int[0];
    private int stamp;

    private float[] work = new float[0];
    private long[] keys = new long[0];
    private int candidates;
    private float lastLogProbability = Float.NaN;

    ChainSampler(SamplerSettings settings) {
        this.settings = settings;
        this.seed = settings.seed() != null ? settings.seed() : ThreadLocalRandom.current().nextLong();
        this.random = new SplittableRandom(seed);
        this.recent = new int[settings.penaltyLastN()];
    }

    @Override
    public SamplerSettings settings() {
        return settings;
    }

    @Override
    public long seed() {
        return seed;
    }

    @Override
    public float lastLogProbability() {
        return lastLogProbability;
    }

    @Override
    public void accept(int token) {
        if (token < 0) {
            throw new IllegalArgumentException("token id must be >= 0, got " + token);
        }
        if (recent.length == 0) {
            return;
        }
        ensureCounts(token + 1);
        if (recentSize == recent.length) {
            counts[recent[recentStart]]--;
            recent[recentStart] = token;
            recentStart = (recentStart + 1) % recent.length;
        } else {
            recent[(recentStart + recentSize) % recent.length] = token;
            recentSize++;
        }
        counts[token]++;
    }

    @Override
    public void reset() {
        for (int i = 0; i < recentSize; i++) {
            counts[recent[(recentStart + i) % recent.length]] = 0;
        }
        recentStart = 0;
        recentSize = 0;
    }

    private void ensureCounts(int size) {
        if (counts.length < size) {
            counts = Arrays.copyOf(counts, Math.max(size, counts.length * 2));
            penalizedAt = Arrays.copyOf(penalizedAt, counts.length);
        }
    }

    @Override
    public int sample(float[] logits, int vocabSize) {
        if (vocabSize < 1 || vocabSize > logits.length) {
            throw new IllegalArgumentException("vocabSize " + vocabSize + " must be in [1, logits.length = "
                    + logits.length + "]; pass the model's vocabulary size");
        }
        if (work.length < vocabSize) {
            work = new float[vocabSize];
            keys = new long[vocabSize];
        }
        for (int i = 0; i < vocabSize; i++) {
            float l = logits[i];
            work[i] = Float.isNaN(l) ? Float.NEGATIVE_INFINITY : l;
        }
        if (settings.hasPenalties()) {
            applyPenalties(vocabSize);
        }
        if (settings.isGreedy()) {
            return greedy(vocabSize);
        }
        selectTopK(vocabSize);
        applyTopP();
        applyMinP();
        return draw();
    }

    /** llama.cpp's {@code penalties} stage on the working logits. */
    private void applyPenalties(int vocabSize) {
        stamp++;
        float repeat = settings.repetitionPenalty();
        for (int i = 0; i < recentSize; i++) {
            int token = recent[(recentStart + i) % recent.length];
            if (token >= vocabSize || penalizedAt[token] == stamp) {
                continue;
            }
            penalizedAt[token] = stamp;
            int count = counts[token];
            float l = work[token];
            l = l <= 0 ? l * repeat : l / repeat;
            l -= count * settings.frequencyPenalty() + settings.presencePenalty();
            work[token] = l;
        }
    }

    private int greedy(int vocabSize) {
        int best = 0;
        for (int i = 1; i < vocabSize; i++) {
            if (work[i] > work[best]) {
                best = i; // strict: ties stay with the lower id
            }
        }
        double max = work[best];
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) {
            sum += Math.exp(work[i] - max);
        }
        lastLogProbability = (float) -Math.log(sum);
        candidates = 1;
        keys[0] = key(best);
        return best;
    }

    /** Smaller key = better candidate: higher logit first, then lower id. */
    private long key(int id) {
        int bits = Float.floatToRawIntBits(work[id]);
        int ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF); // signed-int order == float order
        return ((long) ~ordered << 32) | id;
    }

    private static int idOf(long key) {
        return (int) key;
    }

    /** Fills {@code keys[0 .. candidates)} with the best min(topK, n) tokens, sorted best first. */
    private void selectTopK(int vocabSize) {
        int k = settings.topK() > 0 ? Math.min(settings.topK(), vocabSize) : vocabSize;
        if (k == vocabSize) {
            for (int i = 0; i < vocabSize; i++) {
                keys[i] = key(i);
            }
        } else {
            // max-heap of the k best keys seen so far; the root is the worst of them
            for (int i = 0; i < k; i++) {
                keys[i] = key(i);
                siftUp(i);
            }
            for (int i = k; i < vocabSize; i++) {
                long candidate = key(i);
                if (candidate < keys[0]) {
                    keys[0] = candidate;
                    siftDown(k);
                }
            }
        }
        Arrays.sort(keys, 0, k);
        candidates = k;
    }

    private void siftUp(int i) {
        long v = keys[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (keys[parent] >= v) {
                break;
            }
            keys[i] = keys[parent];
            i = parent;
        }
        keys[i] = v;
    }

    private void siftDown(int size) {
        int i = 0;
        long v = keys[0];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && keys[child + 1] > keys[child]) {
                child++;
            }
            if (keys[child] <= v) {
                break;
            }
            keys[i] = keys[child];
            i = child;
        }
        keys[i] = v;
    }

    /** Keeps the shortest best-first prefix whose softmax probability reaches topP (at least one). */
    private void applyTopP() {
        float p = settings.topP();
        if (p >= 1 || candidates <= 1) {
            return;
        }
        double max = work[idOf(keys[0])];
        double sum = 0;
        for (int i = 0; i < candidates; i++) {
            sum += Math.exp(work[idOf(keys[i])] - max);
        }
        double cumulative = 0;
        for (int i = 0; i < candidates; i++) {
            cumulative += Math.exp(work[idOf(keys[i])] - max) / sum;
            if (cumulative >= p) {
                candidates = i + 1;
                return;
            }
        }
    }

    /** Keeps tokens whose probability is at least minP times the best one's, i.e. logit >= max + ln(minP). */
    private void applyMinP() {
        float p = settings.minP();
        if (p <= 0 || candidates <= 1) {
            return;
        }
        float threshold = work[idOf(keys[0])] + (float) Math.log(p);
        for (int i = 1; i < candidates; i++) {
            if (work[idOf(keys[i])] < threshold) {
                candidates = i;
                return;
            }
        }
    }

    /** Temperature then a draw from the softmax of the remaining candidates. */
    private int draw() {
        double invTemperature = 1.0 / settings.temperature();
        double max = work[idOf(keys[0])];
        if (max == Double.NEGATIVE_INFINITY) { // every logit masked: nothing to weigh, take the best id
            lastLogProbability = (float) -Math.log(candidates);
            return idOf(keys[0]);
        }
        double sum = 0;
        for (int i = 0; i < candidates; i++) {
            sum += Math.exp((work[idOf(keys[i])] - max) * invTemperature);
        }
        double target = random.nextDouble() * sum;
        double cumulative = 0;
        int chosen = candidates - 1; // rounding can leave target just above the last cumulative sum
        for (int i = 0; i < candidates; i++) {
            cumulative += Math.exp((work[idOf(keys[i])] - max) * invTemperature);
            if (target < cumulative) {
                chosen = i;
                break;
            }
        }
        int id = idOf(keys[chosen]);
        lastLogProbability = (float) ((work[id] - max) * invTemperature - Math.log(sum));
        return id;
    }

    /** The candidate ids that survived truncation in the last call, best first (for tests). */
    int[] lastCandidates() {
        int[] ids = new int[candidates];
        for (int i = 0; i < candidates; i++) {
            ids[i] = idOf(keys[i]);
        }
        return ids;
    }

    /** The working logits after penalties of the last call (for tests). */
    float[] lastPenalizedLogits(int vocabSize) {
        return Arrays.copyOf(work, vocabSize);
    }
}
