package io.kvcache.cache;

/**
 * When a sequence keeps its K/V between forward calls, and what happens under memory pressure.
 * Immutable and thread-safe.
 *
 * <ul>
 *   <li>{@link #ALWAYS}: every sequence keeps its K/V; live sequences are never evicted. When no free
 *       block exists, no new chunk fits the budget and no prefix-cached block can be evicted,
 *       allocation throws {@link CacheFullException}.
 *   <li>{@link #longSequenceOnly(int)}: sequences of at least {@code threshold} tokens are kept;
 *       shorter ones are recomputed by the engine every step (the cache is their scratch space).
 *       Under pressure, a live sequence shorter than the threshold may be preempted (it would be
 *       recomputed anyway); long sequences are never preempted.
 *   <li>{@link #ADAPTIVE}: every sequence is kept while memory allows. Under pressure another live
 *       sequence is preempted: its blocks are freed, {@link KvSequence#isPreempted()} becomes true,
 *       its {@link KvSequence#tokens()} keep the history to recompute, its length becomes 0. Victims
 *       are chosen among sequences not in use by a thread at that moment: first those with no
 *       reserved-but-uncommitted positions, then the most recently admitted. Preemptions are counted
 *       in {@link KvCacheStats#preemptions()}.
 *   <li>{@link #DISABLED}: nothing is kept; the engine recomputes the whole sequence every step and
 *       uses the cache only as scratch storage for one forward pass. Idle sequences may be preempted
 *       under pressure.
 * </ul>
 */
public sealed interface CacheStrategy {

    /** Keep everything; fail with {@link CacheFullException} when full. */
    CacheStrategy ALWAYS = new Always();

    /** Keep everything while memory allows; preempt other sequences under pressure. */
    CacheStrategy ADAPTIVE = new Adaptive();

    /** Keep nothing between forward calls (the baseline that shows what the cache buys). */
    CacheStrategy DISABLED = new Disabled();

    /**
     * Keep sequences of at least {@code threshold} tokens; recompute shorter ones.
     *
     * @throws IllegalArgumentException if {@code threshold < 1}
     */
    static CacheStrategy longSequenceOnly(int threshold) {
        return new LongSequenceOnly(threshold);
    }

    /** Whether a sequence of this many tokens keeps its K/V between forward calls (false: the engine recomputes). */
    boolean keepsSequenceOf(int tokens);

    /** Whether a live sequence of this many tokens may be preempted to free memory for another one. */
    default boolean mayPreempt(int tokens) {
        return !keepsSequenceOf(tokens);
    }

    /** See {@link #ALWAYS}. Immutable. */
    record Always() implements CacheStrategy {
        @Override
        public boolean keepsSequenceOf(int tokens) {
            return true;
        }

        @Override
        public String toString() {
            return "ALWAYS";
        }
    }

    /** See {@link #ADAPTIVE}. Immutable. */
    record Adaptive() implements CacheStrategy {
        @Override
        public boolean keepsSequenceOf(int tokens) {
            return true;
        }

        @Override
        public boolean mayPreempt(int tokens) {
            return true;
        }

        @Override
        public String toString() {
            return "ADAPTIVE";
        }
    }

    /** See {@link #DISABLED}. Immutable. */
    record Disabled() implements CacheStrategy {
        @Override
        public boolean keepsSequenceOf(int tokens) {
            return false;
        }

        @Override
        public String toString() {
            return "DISABLED";
        }
    }

    /**
     * See {@link CacheStrategy#longSequenceOnly(int)}. Immutable.
     *
     * @param threshold the smallest token count that is kept
     */
    record LongSequenceOnly(int threshold) implements CacheStrategy {
        public LongSequenceOnly {
            if (threshold < 1) {
                throw new IllegalArgumentException("longSequenceOnly threshold must be >= 1, was " + threshold);
            }
        }

        @Override
        public boolean keepsSequenceOf(int tokens) {
            return tokens >= threshold;
        }

        @Override
        public String toString() {
            return "LONG_SEQUENCE_ONLY(" + threshold + ")";
        }
    }
}
