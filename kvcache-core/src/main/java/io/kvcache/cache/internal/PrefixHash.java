package io.kvcache.cache.internal;

/**
 * The chained 64-bit hash that names a full block in the prefix cache: {@code hash(parent, ids)}.
 * Every token is folded in with a multiply-rotate step and the result goes through MurmurHash3's
 * 64-bit finalizer, so any change in the parent or an id flips about half the bits. A match is
 * always verified against the stored parent hash and token ids, so a collision cannot attach the
 * wrong block. Stateless and thread-safe.
 */
public final class PrefixHash {
    /** Parent hash of the first block. */
    public static final long ROOT = 0x9E3779B97F4A7C15L;

    private PrefixHash() {
    }

    public static long chain(long parent, int[] tokens, int from, int count) {
        long h = parent ^ (0xC2B2AE3D27D4EB4FL * (count + 1));
        for (int i = 0; i < count; i++) {
            h ^= (tokens[from + i] & 0xFFFFFFFFL) * 0x87C37B91114253D5L;
            h = Long.rotateLeft(h, 31) * 0x4CF5AD432745937FL + 0x52DCE729L;
        }
        return fmix(h);
    }

    private static long fmix(long h) {
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        h ^= h >>> 33;
        return h;
    }
}
