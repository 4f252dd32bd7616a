package io.kvcache.tokenizer;

import java.util.Arrays;

/**
 * An open-addressing map from long to long for the BPE merge table, so lookups neither box nor
 * allocate. Keys must not be {@link #EMPTY_KEY}. Written during construction only, then read-only
 * (safe to share once published through a final field).
 */
final class LongLongMap {

    static final long ABSENT = Long.MIN_VALUE;
    private static final long EMPTY_KEY = -1L;

    private final long[] keys;
    private final long[] values;
    private final int mask;

    LongLongMap(int expected) {
        int capacity = Integer.highestOneBit(Math.max(16, expected) * 2 - 1) << 1;
        keys = new long[capacity];
        values = new long[capacity];
        Arrays.fill(keys, EMPTY_KEY);
        mask = capacity - 1;
    }

    private int slot(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        int i = (int) (h ^ (h >>> 32)) & mask;
        while (keys[i] != EMPTY_KEY && keys[i] != key) {
            i = (i + 1) & mask;
        }
        return i;
    }

    void put(long key, long value) {
        int i = slot(key);
        keys[i] = key;
        values[i] = value;
    }

    boolean containsKey(long key) {
        return keys[slot(key)] == key;
    }

    /** The value, or {@link #ABSENT}. */
    long get(long key) {
        int i = slot(key);
        return keys[i] == key ? values[i] : ABSENT;
    }
}
