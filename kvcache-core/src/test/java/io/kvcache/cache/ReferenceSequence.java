package io.kvcache.cache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The naive model of one sequence for randomized tests: plain float arrays per position.
 *
 * <p>K/V of a position whose whole token prefix is known are a pure function of that prefix (so a
 * prefix-cache hit has predictable content); after an unknown id (-1) they are random.
 */
final class ReferenceSequence {
    final int layers;
    final int kvDim;
    final int blockSize;
    final List<float[][]> keys = new ArrayList<>();   // [position][layer][kvDim]
    final List<float[][]> values = new ArrayList<>();
    final List<Integer> tokens = new ArrayList<>();
    final List<Long> prefixHashes = new ArrayList<>(); // 0 after an unknown id
    /** Block indices the cache's sliding window has freed (they stay freed until truncated away). */
    final java.util.BitSet droppedBlocks = new java.util.BitSet();

    ReferenceSequence(int layers, int kvDim, int blockSize) {
        this.layers = layers;
        this.kvDim = kvDim;
        this.blockSize = blockSize;
    }

    int length() {
        return tokens.size();
    }

    ReferenceSequence copy() {
        ReferenceSequence copy = new ReferenceSequence(layers, kvDim, blockSize);
        copy.keys.addAll(keys);
        copy.values.addAll(values);
        copy.tokens.addAll(tokens);
        copy.prefixHashes.addAll(prefixHashes);
        copy.droppedBlocks.or(droppedBlocks);
        return copy;
    }

    void truncate(int n) {
        keys.subList(n, keys.size()).clear();
        values.subList(n, values.size()).clear();
        tokens.subList(n, tokens.size()).clear();
        prefixHashes.subList(n, prefixHashes.size()).clear();
        // Blocks past the new end are released and get fresh blocks when positions are appended again.
        int firstReleased = (n + blockSize - 1) / blockSize;
        if (firstReleased < droppedBlocks.length()) {
            droppedBlocks.clear(firstReleased, droppedBlocks.length());
        }
    }

    /** After committing positions: the cache frees blocks wholly before {@code length-window+1} without sinks. */
    void applyWindow(int window, int sinks, int blockSize) {
        if (window == 0) {
            return;
        }
        for (int idx = (sinks + blockSize - 1) / blockSize; (long) (idx + 1) * blockSize <= length() - window + 1; idx++) {
            droppedBlocks.set(idx);
        }
    }

    /** Whether truncating to {@code n} needs a dropped block (the cache then refuses). */
    boolean truncateNeedsDropped(int n, int window, int blockSize) {
        if (window == 0 || n == 0) {
            return false;
        }
        int needFrom = Math.max(0, n - window + 1);
        int next = droppedBlocks.nextSetBit(needFrom / blockSize);
        return next >= 0 && next <= (n - 1) / blockSize;
    }

    boolean isDropped(int position, int blockSize) {
        return droppedBlocks.get(position / blockSize);
    }

    void clear() {
        truncate(0);
    }

    /** Appends one position with token id {@code token} (-1: unknown); returns its [K, V] per layer. */
    float[][][] append(int token, SplittableRandom random) {
        long parent = prefixHashes.isEmpty() ? 0x1234567L : prefixHashes.getLast();
        long hash = token < 0 || parent == 0 ? 0 : mix(parent * 31 + token + 1);
        SplittableRandom source = hash == 0 ? random.split() : new SplittableRandom(hash);
        float[][] k = new float[layers][kvDim];
        float[][] v = new float[layers][kvDim];
        for (int layer = 0; layer < layers; layer++) {
            for (int i = 0; i < kvDim; i++) {
                k[layer][i] = (float) source.nextDouble(-2, 2);
                v[layer][i] = (float) source.nextDouble(-2, 2);
            }
        }
        keys.add(k);
        values.add(v);
        tokens.add(token);
        prefixHashes.add(hash);
        return new float[][][] {k, v};
    }

    int[] tokenArray() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        h ^= h >>> 33;
        return h == 0 ? 1 : h;
    }

    /** Asserts that the cache returns this model's K and V at {@code position} within the type's bound. */
    void assertPosition(KvSequence sequence, KvCacheSpec spec, int position, String context) {
        float[] got = new float[kvDim];
        for (int layer = 0; layer < layers; layer++) {
            sequence.readKey(layer, position, got, 0);
            assertRow(spec.keyType(), keys.get(position)[layer], got, spec.headDim(),
                    context + " key layer " + layer + " position " + position);
            sequence.readValue(layer, position, got, 0);
            assertRow(spec.valueType(), values.get(position)[layer], got, spec.headDim(),
                    context + " value layer " + layer + " position " + position);
        }
    }

    static void assertRow(KvElementType type, float[] expected, float[] got, int headDim, String context) {
        for (int i = 0; i < expected.length; i++) {
            double bound = type == KvElementType.F32 ? 0
                    : AttentionTest.elementBound(type, expected, (i / headDim) * headDim, i % headDim);
            double error = Math.abs((double) expected[i] - got[i]);
            if (!(error <= bound)) {
                throw new AssertionError(context + ": element " + i + " expected " + expected[i] + " got " + got[i]
                        + " (error " + error + " > bound " + bound + ") in " + Arrays.toString(got));
            }
        }
    }
}
