package io.kvcache.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Focused behaviour of sequences and the pool: one test per feature and misuse. */
class KvSequenceTest {
    private static final KvCacheSpec SPEC = KvCacheSpec.builder().layers(2).kvHeads(2).headDim(4)
            .contextLength(256).blockSize(16).build();

    /** A deterministic K (or V) value for (tag, position, layer, element). */
    static float value(int tag, int position, int layer, int element, boolean key) {
        return tag * 1000f + position + layer * 0.25f + element * 0.01f + (key ? 0 : 0.5f);
    }

    /** Reserves, stores deterministic K/V for [length, length+n) and advances with the given ids. */
    static void append(KvSequence sequence, KvCacheSpec spec, int tag, int[] ids) {
        int start = sequence.length();
        sequence.reserve(ids.length);
        float[] k = new float[spec.kvDim()];
        float[] v = new float[spec.kvDim()];
        for (int p = start; p < start + ids.length; p++) {
            for (int layer = 0; layer < spec.layers(); layer++) {
                for (int i = 0; i < k.length; i++) {
                    k[i] = value(tag, p, layer, i, true);
                    v[i] = value(tag, p, layer, i, false);
                }
                sequence.store(layer, p, k, 0, v, 0);
            }
        }
        sequence.advance(ids);
    }

    static void assertContent(KvSequence sequence, KvCacheSpec spec, int tag, int from, int to) {
        float[] k = new float[spec.kvDim()];
        float[] v = new float[spec.kvDim()];
        for (int p = from; p < to; p++) {
            for (int layer = 0; layer < spec.layers(); layer++) {
                sequence.readKey(layer, p, k, 0);
                sequence.readValue(layer, p, v, 0);
                for (int i = 0; i < k.length; i++) {
                    assertEquals(value(tag, p, layer, i, true), k[i], "key tag " + tag + " position " + p);
                    assertEquals(value(tag, p, layer, i, false), v[i], "value tag " + tag + " position " + p);
                }
            }
        }
    }

    static int[] ids(int from, int count) {
        return IntStream.range(from, from + count).toArray();
    }

    @Test
    void twoSequencesWithTheSamePromptShareSixBlocks() {
        int[] prompt = ids(1000, 100);
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(64).build()) {
            KvSequence first = cache.newSequence(prompt);
            assertEquals(0, first.length());
            append(first, SPEC, 1, prompt);
            KvSequence second = cache.newSequence(prompt);
            assertEquals(96, second.length());
            assertArrayEquals(ids(1000, 96), second.tokens());
            KvCacheStats stats = cache.stats();
            assertEquals(96, stats.prefixHitTokens());
            assertEquals(200, stats.prefixQueryTokens());
            SequenceInfo info = cache.sequences().get(1);
            assertEquals(6, info.blocks());
            assertEquals(6, info.sharedBlocks());
            assertEquals(7 + 0, cache.stats().blocksUsed(), "7 blocks of the first, the 6 shared counted once");
            // The second computes its last 4 prompt tokens with different K/V: the first must not see them.
            append(second, SPEC, 2, ids(1096, 4));
            assertContent(second, SPEC, 1, 0, 96);
            assertContent(second, SPEC, 2, 96, 100);
            assertContent(first, SPEC, 1, 0, 100);
            // Truncating into a shared block and rewriting it copies the block first.
            second.truncate(40);
            append(second, SPEC, 3, ids(5000, 30));
            assertContent(second, SPEC, 1, 0, 40);
            assertContent(second, SPEC, 3, 40, 70);
            assertContent(first, SPEC, 1, 0, 100);
            cache.checkIntegrity();
            first.close();
            second.close();
            // Freed full blocks stay cached: a third sequence still hits the first 6 blocks.
            assertTrue(cache.stats().blocksCached() >= 6, cache.stats().toString());
            try (KvSequence third = cache.newSequence(prompt)) {
                assertEquals(96, third.length());
                assertContent(third, SPEC, 1, 0, 96);
            }
            cache.checkIntegrity();
        }
    }

    @Test
    void prefixMatchIsVerifiedTokenByToken() {
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(64).build()) {
            KvSequence first = cache.newSequence();
            append(first, SPEC, 1, ids(0, 48));
            int[] diverging = ids(0, 48);
            diverging[20] = 999; // second block differs
            try (KvSequence second = cache.newSequence(diverging)) {
                assertEquals(16, second.length());
            }
            try (KvSequence withoutIds = cache.newSequence()) {
                withoutIds.reserve(32);
                withoutIds.advance(32); // unknown ids: never shareable
            }
            first.close();
            try (KvCache disabled = KvCache.builder(SPEC).maxBlocks(8).prefixCaching(false).build();
                 KvSequence a = disabled.newSequence(ids(0, 40))) {
                append(a, SPEC, 1, ids(0, 40));
                assertEquals(0, disabled.newSequence(ids(0, 40)).length());
                assertEquals(0, disabled.stats().prefixQueryTokens());
            }
        }
    }

    @Test
    void cachedBlocksAreEvictedLeastRecentlyUsedFirst() {
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(4).build()) {
            try (KvSequence a = cache.newSequence()) {
                append(a, SPEC, 1, ids(0, 32)); // blocks for prompt A
            }
            try (KvSequence b = cache.newSequence()) {
                append(b, SPEC, 2, ids(100, 32)); // blocks for prompt B
            }
            assertEquals(4, cache.stats().blocksCached());
            // Touch A again so B is the least recently released.
            cache.newSequence(ids(0, 33)).close();
            try (KvSequence c = cache.newSequence()) {
                append(c, SPEC, 3, ids(200, 32)); // needs 2 blocks: evicts B's
            }
            assertEquals(2, cache.stats().evictions());
            try (KvSequence again = cache.newSequence(ids(0, 33))) {
                assertEquals(32, again.length());
                assertContent(again, SPEC, 1, 0, 32);
            }
            try (KvSequence lost = cache.newSequence(ids(100, 33))) {
                assertEquals(0, lost.length());
            }
            cache.checkIntegrity();
        }
    }

    @Test
    void exhaustingTheBudgetUnderAlwaysThrowsAndKeepsExistingSequences() {
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(5).build()) {
            KvSequence a = cache.newSequence();
            KvSequence b = cache.newSequence();
            append(a, SPEC, 1, ids(0, 40));  // 3 blocks
            append(b, SPEC, 2, ids(500, 20)); // 2 blocks
            CacheFullException full = assertThrows(CacheFullException.class, () -> b.reserve(13));
            assertTrue(full.getMessage().contains("memoryBudget") && full.getMessage().contains("kvcache.cache.memory-budget"),
                    full.getMessage());
            assertTrue(full.getMessage().contains("5 blocks"), full.getMessage());
            assertEquals(20, b.length());
            assertThrows(IllegalStateException.class, () -> b.store(0, 20, new float[8], 0, new float[8], 0),
                    "a failed reserve reserves nothing");
            b.reserve(12); // still fits the partly filled block
            assertContent(a, SPEC, 1, 0, 40);
            assertContent(b, SPEC, 2, 0, 20);
            assertEquals(0, cache.stats().preemptions());
            assertFalse(a.isPreempted() || b.isPreempted());
            cache.checkIntegrity();
        }
    }

    @Test
    void contextLengthIsEnforced() {
        try (KvCache cache = KvCache.builder(SPEC).build(); KvSequence sequence = cache.newSequence()) {
            sequence.reserve(250);
            sequence.advance(250);
            ContextLengthExceededException e = assertThrows(ContextLengthExceededException.class, () -> sequence.reserve(7));
            assertTrue(e.getMessage().contains("250") && e.getMessage().contains("256"), e.getMessage());
            assertEquals(250, sequence.length());
            sequence.reserve(6);
            sequence.advance(6);
            assertTrue(sequence.isFull());
        }
    }

    @Test
    void adaptivePreemptsTheMostRecentlyAdmittedIdleSequence() {
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(6).strategy(CacheStrategy.ADAPTIVE).build()) {
            KvSequence old = cache.newSequence();
            KvSequence recent = cache.newSequence();
            KvSequence requester = cache.newSequence();
            append(old, SPEC, 1, ids(0, 32));
            append(recent, SPEC, 2, ids(100, 32));
            append(requester, SPEC, 3, ids(200, 32));
            append(requester, SPEC, 3, ids(232, 16)); // needs a 7th block
            // The owner has not looked yet: reserving must not silently restart the sequence at 0.
            assertThrows(SequencePreemptedException.class, () -> recent.reserve(1));
            assertTrue(recent.isPreempted());
            assertFalse(old.isPreempted());
            assertEquals(0, recent.length());
            assertArrayEquals(ids(100, 32), recent.tokens(), "history kept for recomputation");
            assertThrows(SequencePreemptedException.class, () -> recent.readKey(0, 0, new float[8], 0));
            assertEquals(1, cache.stats().preemptions());
            assertContent(old, SPEC, 1, 0, 32);
            assertContent(requester, SPEC, 3, 0, 48);
            cache.clearPrefixCache();
            requester.close();
            // Resume: the engine recomputes from the history.
            int[] history = recent.tokens();
            append(recent, SPEC, 2, history);
            assertFalse(recent.isPreempted());
            assertContent(recent, SPEC, 2, 0, 32);
            cache.checkIntegrity();
        }
    }

    @Test
    void adaptiveFailsWhenNothingElseCanBePreempted() {
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(2).strategy(CacheStrategy.ADAPTIVE).build();
             KvSequence only = cache.newSequence()) {
            append(only, SPEC, 1, ids(0, 32));
            assertThrows(CacheFullException.class, () -> only.reserve(1));
            assertContent(only, SPEC, 1, 0, 32);
        }
    }

    @Test
    void aFailedResumeKeepsThePreemptedHistoryAndPreemptsNobodyInVain() {
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(2).strategy(CacheStrategy.ADAPTIVE).build()) {
            KvSequence first = cache.newSequence();
            append(first, SPEC, 1, ids(0, 32));
            KvSequence second = cache.newSequence();
            append(second, SPEC, 2, ids(100, 8)); // preempts the first: nothing else to evict
            assertTrue(first.isPreempted());
            CacheFullException e = assertThrows(CacheFullException.class, () -> first.reserve(40));
            assertTrue(e.getMessage().contains("more than the whole budget"), e.getMessage());
            assertTrue(first.isPreempted(), "still preempted after the failed reserve");
            assertArrayEquals(ids(0, 32), first.tokens());
            assertFalse(second.isPreempted());
            assertContent(second, SPEC, 2, 0, 8);
            assertEquals(1, cache.stats().preemptions());
            cache.checkIntegrity();
        }
    }

    @Test
    void longSequenceOnlyPreemptsOnlyShortSequences() {
        CacheStrategy strategy = CacheStrategy.longSequenceOnly(32);
        assertTrue(strategy.keepsSequenceOf(32));
        assertFalse(strategy.keepsSequenceOf(31));
        assertThrows(IllegalArgumentException.class, () -> CacheStrategy.longSequenceOnly(0));
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(5).strategy(strategy).build()) {
            KvSequence longOne = cache.newSequence();
            KvSequence shortOne = cache.newSequence();
            KvSequence requester = cache.newSequence();
            append(longOne, SPEC, 1, ids(0, 40));   // 3 blocks, kept
            append(shortOne, SPEC, 2, ids(100, 16)); // 1 block, recomputed anyway
            append(requester, SPEC, 3, ids(200, 16));
            append(requester, SPEC, 3, ids(216, 1)); // preempts the short one
            assertTrue(shortOne.isPreempted());
            assertFalse(longOne.isPreempted());
            assertThrows(CacheFullException.class, () -> requester.reserve(32), "the long sequence is never preempted");
            assertContent(longOne, SPEC, 1, 0, 40);
            assertContent(requester, SPEC, 3, 0, 17);
            assertTrue(CacheStrategy.ALWAYS.keepsSequenceOf(1));
            assertFalse(CacheStrategy.DISABLED.keepsSequenceOf(10_000));
            assertEquals("LONG_SEQUENCE_ONLY(32)", strategy.toString());
        }
    }

    @Test
    void disabledStillServesAsScratchForOneForward() {
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(4).strategy(CacheStrategy.DISABLED).build();
             KvSequence sequence = cache.newSequence()) {
            for (int step = 1; step <= 3; step++) {
                sequence.clear(); // the engine recomputes everything each step
                append(sequence, SPEC, step, ids(0, 20 + step));
                assertContent(sequence, SPEC, step, 0, 20 + step);
            }
        }
    }

    @Test
    void maxSequencesIsEnforced() {
        try (KvCache cache = KvCache.builder(SPEC).maxSequences(2).build()) {
            KvSequence a = cache.newSequence();
            KvSequence b = cache.newSequence();
            CacheFullException e = assertThrows(CacheFullException.class, cache::newSequence);
            assertTrue(e.getMessage().contains("maxSequences") && e.getMessage().contains("kvcache.cache.max-sequences"),
                    e.getMessage());
            assertThrows(CacheFullException.class, a::fork);
            b.close();
            try (KvSequence c = a.fork()) {
                assertEquals(2, cache.stats().sequences());
                assertEquals(List.of(a.id(), c.id()), cache.sequences().stream().map(SequenceInfo::id).toList());
            }
        }
    }

    @Test
    void forkThenDivergeKeepsBothViews() {
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(16).build()) {
            KvSequence parent = cache.newSequence();
            append(parent, SPEC, 1, ids(0, 24)); // one full and one partial block
            KvSequence child = parent.fork();
            assertEquals(24, child.length());
            assertArrayEquals(parent.tokens(), child.tokens());
            assertEquals(2, cache.stats().blocksUsed());
            append(child, SPEC, 2, ids(50, 10));  // copies the partial block
            append(parent, SPEC, 3, ids(70, 10)); // now exclusive again: no copy
            assertEquals(5, cache.stats().blocksUsed(), "shared block 0, each its own copy of block 1 and a block 2");
            assertContent(child, SPEC, 1, 0, 24);
            assertContent(child, SPEC, 2, 24, 34);
            assertContent(parent, SPEC, 1, 0, 24);
            assertContent(parent, SPEC, 3, 24, 34);
            parent.reserve(1);
            assertThrows(IllegalStateException.class, parent::fork, "pending reservation");
            parent.close();
            assertContent(child, SPEC, 1, 0, 24);
            child.close();
            cache.checkIntegrity();
            assertEquals(0, cache.stats().blocksUsed());
        }
    }

    @Test
    void truncateIntoASharedBlockCopiesOnTheNextWrite() {
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(16).build()) {
            KvSequence a = cache.newSequence();
            append(a, SPEC, 1, ids(0, 32));
            KvSequence b = a.fork();
            b.truncate(20); // inside a's second (full, shared) block
            assertEquals(20, b.length());
            append(b, SPEC, 2, ids(300, 8));
            assertContent(b, SPEC, 1, 0, 20);
            assertContent(b, SPEC, 2, 20, 28);
            assertContent(a, SPEC, 1, 0, 32);
            assertThrows(IllegalArgumentException.class, () -> b.truncate(29));
            assertThrows(IllegalArgumentException.class, () -> b.truncate(-1));
            // A truncated-then-rewritten block of one owner leaves the prefix index, so it never matches stale ids.
            a.truncate(20);
            append(a, SPEC, 4, ids(400, 12));
            try (KvSequence probe = cache.newSequence(ids(0, 33))) {
                assertEquals(16, probe.length());
            }
            cache.checkIntegrity();
        }
    }

    @Test
    void slidingWindowDropsOldBlocksAndKeepsSinks() {
        KvCacheSpec spec = KvCacheSpec.builder().layers(1).kvHeads(1).headDim(4).contextLength(512).blockSize(8).build();
        try (KvCache cache = KvCache.builder(spec).maxBlocks(64).slidingWindow(16, 4).build();
             KvSequence sequence = cache.newSequence()) {
            append(sequence, spec, 1, ids(0, 100));
            // Visible at the next query (100): sinks 0..3 and 85..100; blocks wholly below 85 without sinks freed.
            assertEquals(1 + 3, cache.sequences().getFirst().blocks(), "sink block + blocks 80..103");
            assertContent(sequence, spec, 1, 0, 4);
            assertContent(sequence, spec, 1, 85, 100);
            IllegalStateException dropped = assertThrows(IllegalStateException.class,
                    () -> sequence.readKey(0, 50, new float[4], 0));
            assertTrue(dropped.getMessage().contains("sliding window"), dropped.getMessage());
            assertEquals(16 + 4 + 4, sequence.attentionScratchSize());
            // Attention at 99 equals exact attention over sinks 0..3 and positions 84..99.
            float[] q = {0.01f, -0.02f, 0.005f, 0.01f};
            float[] out = new float[4];
            sequence.attention(0, 99, 1, q, out);
            double[] expected = windowReference(q, 99, 16, 4);
            for (int i = 0; i < 4; i++) {
                assertEquals(expected[i], out[i], 1e-4 * Math.abs(expected[i]));
            }
            assertThrows(IllegalArgumentException.class, () -> sequence.truncate(60), "needs dropped positions");
            sequence.truncate(95);
            append(sequence, spec, 1, ids(95, 5));
            // Past the context only the positions are capped, not the window.
            assertEquals(512, sequence.capacity());
            cache.checkIntegrity();
        }
    }

    private static double[] windowReference(float[] q, int position, int window, int sinks) {
        List<Integer> visible = new java.util.ArrayList<>();
        for (int p = 0; p < sinks; p++) {
            visible.add(p);
        }
        for (int p = position - window + 1; p <= position; p++) {
            visible.add(p);
        }
        double max = Double.NEGATIVE_INFINITY;
        double[] scores = new double[visible.size()];
        for (int j = 0; j < scores.length; j++) {
            double dot = 0;
            for (int i = 0; i < 4; i++) {
                dot += q[i] * (double) value(1, visible.get(j), 0, i, true);
            }
            scores[j] = dot / 2;
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j < scores.length; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }
        double[] out = new double[4];
        for (int j = 0; j < scores.length; j++) {
            for (int i = 0; i < 4; i++) {
                out[i] += scores[j] / sum * value(1, visible.get(j), 0, i, false);
            }
        }
        return out;
    }

    @Test
    void useAfterCloseFailsClearly() {
        KvCache cache = KvCache.builder(SPEC).build();
        KvSequence sequence = cache.newSequence();
        append(sequence, SPEC, 1, ids(0, 5));
        sequence.close();
        sequence.close(); // idempotent
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> sequence.reserve(1));
        assertEquals("sequence " + sequence.id() + " is closed; open a new one with KvCache.newSequence()", e.getMessage());
        assertThrows(IllegalStateException.class, sequence::length);
        assertThrows(IllegalStateException.class, () -> sequence.readKey(0, 0, new float[8], 0));
        assertThrows(IllegalStateException.class, () -> sequence.attention(0, 0, 2, new float[8], new float[8]));
        assertThrows(IllegalStateException.class, sequence::fork);
        assertEquals(0, cache.stats().sequences());
        KvSequence open = cache.newSequence();
        cache.close();
        IllegalStateException closedCache = assertThrows(IllegalStateException.class, () -> open.reserve(1));
        assertTrue(closedCache.getMessage().contains("KV cache is closed"), closedCache.getMessage());
        assertThrows(IllegalStateException.class, cache::newSequence);
    }

    @Test
    void storeOutsideTheReservedRangeIsRejected() {
        try (KvCache cache = KvCache.builder(SPEC).build(); KvSequence sequence = cache.newSequence()) {
            float[] row = new float[8];
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> sequence.store(0, 0, row, 0, row, 0));
            assertTrue(e.getMessage().contains("reserve"), e.getMessage());
            sequence.reserve(2);
            assertThrows(IllegalStateException.class, () -> sequence.store(0, 2, row, 0, row, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> sequence.store(2, 0, row, 0, row, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> sequence.store(0, 0, row, 1, row, 0));
            assertThrows(IllegalStateException.class, () -> sequence.advance(3));
            sequence.advance(2);
            assertThrows(IllegalStateException.class, () -> sequence.store(0, 1, row, 0, row, 0), "already committed");
            assertEquals(2, sequence.length());
        }
    }

    @Test
    void concurrentMutationOfOneSequenceIsDetected() throws Exception {
        KvCacheSpec spec = KvCacheSpec.builder().layers(1).kvHeads(1).headDim(4).contextLength(1 << 20).build();
        try (KvCache cache = KvCache.builder(spec).maxBlocks(1 << 16).build(); KvSequence sequence = cache.newSequence()) {
            append(sequence, spec, 1, ids(0, 16));
            // Another thread holds the sequence inside a long attention call while this one mutates.
            CountDownLatch started = new CountDownLatch(1);
            sequence.reserve((1 << 20) - 16);
            sequence.advance((1 << 20) - 16);
            float[] q = new float[4];
            float[] out = new float[4];
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread reader = Thread.ofPlatform().start(() -> {
                float[] scratch = new float[sequence.attentionScratchSize()];
                started.countDown();
                while (!stop.get()) {
                    try {
                        sequence.attention(0, (1 << 20) - 1, 1, q, 0, out, 0, 0, 1, scratch);
                    } catch (IllegalStateException overlapSeenByTheReader) {
                        // Expected now and then: the mutator held the sequence when the reader arrived.
                    }
                }
            });
            assertTrue(started.await(10, TimeUnit.SECONDS));
            IllegalStateException e = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            try {
                while (e == null && System.nanoTime() < deadline) {
                    try {
                        sequence.truncate(sequence.length());
                    } catch (IllegalStateException caught) {
                        e = caught;
                    }
                }
            } finally {
                stop.set(true);
                reader.join();
            }
            if (e == null) {
                throw new AssertionError("no overlap detected in 30 s although a reader ran attention continuously");
            }
            assertTrue(e.getMessage().contains("another thread"), e.getMessage());
            assertContent(sequence, spec, 1, 0, 16);
            cache.checkIntegrity();
        }
    }
}
