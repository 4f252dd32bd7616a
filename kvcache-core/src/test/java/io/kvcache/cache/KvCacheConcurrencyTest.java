package io.kvcache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Eight threads run random operations on their own sequences of one ADAPTIVE pool (so they preempt
 * each other and share prefix-cached blocks) while an auditor thread checks the pool's integrity,
 * compacts and reads statistics. Duration: system property {@code kvcache.test.concurrency.seconds}
 * (default 10). Every read is checked exactly against a per-thread model; afterwards no block is
 * leaked or double-owned.
 */
class KvCacheConcurrencyTest {
    private static final int THREADS = 8;
    private static final int SEQUENCES_PER_THREAD = 2;

    @Test
    void eightThreadsOnOnePoolKeepItConsistent() throws Exception {
        long seconds = Long.getLong("kvcache.test.concurrency.seconds", 10);
        long seed = Long.getLong("kvcache.test.seed", 20261122L);
        KvCacheSpec spec = KvCacheSpec.builder().layers(2).kvHeads(2).headDim(8).contextLength(256).blockSize(4).build();
        int[] script = new SplittableRandom(seed).ints(256, 0, 20).toArray();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong operations = new AtomicLong();
        AtomicLong preemptionsSeen = new AtomicLong();
        try (KvCache cache = KvCache.builder(spec).maxBlocks(96).chunkBlocks(8).maxSequences(THREADS * SEQUENCES_PER_THREAD)
                .strategy(CacheStrategy.ADAPTIVE).build()) {
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                long threadSeed = seed + t;
                threads.add(Thread.ofPlatform().name("worker-" + t).start(() -> {
                    try {
                        work(cache, spec, script, new SplittableRandom(threadSeed), stop, operations, preemptionsSeen);
                    } catch (Throwable e) {
                        failures.add(new AssertionError("worker with seed " + threadSeed + " failed: " + e, e));
                    }
                }));
            }
            threads.add(Thread.ofPlatform().name("auditor").start(() -> {
                try {
                    while (!stop.get()) {
                        cache.checkIntegrity();
                        KvCacheStats stats = cache.stats();
                        assertEquals(stats.blocksTotal(), stats.blocksUsed() + stats.blocksFree() + stats.blocksCached());
                        cache.sequences();
                        cache.compact();
                        Thread.sleep(5);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }));
            Thread.sleep(seconds * 1000);
            stop.set(true);
            for (Thread thread : threads) {
                thread.join();
            }
            if (!failures.isEmpty()) {
                AssertionError error = new AssertionError(failures.size() + " failures (seed " + seed + "), first: "
                        + failures.peek(), failures.peek());
                failures.stream().skip(1).forEach(error::addSuppressed);
                throw error;
            }
            cache.checkIntegrity();
            KvCacheStats stats = cache.stats();
            System.out.printf("concurrency test: %d operations, %d preemptions seen, %s%n", operations.get(),
                    preemptionsSeen.get(), stats);
            assertTrue(operations.get() > 1000, "too few operations: " + operations.get());
            assertTrue(stats.preemptions() > 0, "the budget never forced a preemption: " + stats);
            assertTrue(stats.prefixHitTokens() > 0, "no prefix sharing happened: " + stats);
            assertEquals(0, stats.sequences(), "workers close their sequences");
            assertEquals(0, stats.blocksUsed());
            cache.clearPrefixCache();
            cache.compact();
            assertEquals(0, cache.stats().bytesReserved());
            cache.checkIntegrity();
        }
    }

    private static void work(KvCache cache, KvCacheSpec spec, int[] script, SplittableRandom random, AtomicBoolean stop,
                             AtomicLong operations, AtomicLong preemptionsSeen) {
        @Nullable KvSequence[] sequences = new KvSequence[SEQUENCES_PER_THREAD];
        @Nullable ReferenceSequence[] models = new ReferenceSequence[SEQUENCES_PER_THREAD];
        float[] q = new float[spec.kvDim() * 2];
        float[] out = new float[q.length];
        try {
            while (!stop.get()) {
                operations.incrementAndGet();
                int slot = random.nextInt(SEQUENCES_PER_THREAD);
                KvSequence sequence = sequences[slot];
                ReferenceSequence model = models[slot];
                if (sequence == null || model == null) {
                    int[] prompt = java.util.Arrays.copyOf(script, random.nextInt(1, 80));
                    KvSequence opened = cache.newSequence(prompt);
                    ReferenceSequence fresh = new ReferenceSequence(spec.layers(), spec.kvDim(), spec.blockSize());
                    for (int p = 0; p < opened.length(); p++) {
                        fresh.append(prompt[p], random);
                    }
                    sequences[slot] = opened;
                    models[slot] = fresh;
                    continue;
                }
                try {
                    step(sequence, model, spec, script, random, q, out, sequences, models, slot);
                } catch (SequencePreemptedException e) {
                    preemptionsSeen.incrementAndGet();
                    assertTrue(sequence.isPreempted());
                    assertEquals(0, sequence.length());
                    model.clear();
                } catch (CacheFullException e) {
                    // Every other sequence was busy or already preempted: the reserve changed nothing.
                    if (!sequence.isPreempted()) {
                        assertEquals(model.length(), sequence.length());
                    } else {
                        model.clear();
                    }
                }
            }
        } finally {
            for (KvSequence sequence : sequences) {
                if (sequence != null) {
                    sequence.close();
                }
            }
        }
    }

    private static void step(KvSequence sequence, ReferenceSequence model, KvCacheSpec spec, int[] script,
                             SplittableRandom random, float[] q, float[] out, @Nullable KvSequence[] sequences,
                             @Nullable ReferenceSequence[] models, int slot) {
        if (sequence.isPreempted()) {
            model.clear();
        }
        int choice = random.nextInt(100);
        if (choice < 45) {
            int n = random.nextInt(1, 10);
            if (model.length() + n > spec.contextLength()) {
                sequence.truncate(0);
                model.clear();
                return;
            }
            sequence.reserve(n);
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) {
                int p = model.length();
                ids[i] = random.nextInt(8) == 0 ? random.nextInt(20) : script[p];
                float[][][] kv = model.append(ids[i], random);
                for (int layer = 0; layer < spec.layers(); layer++) {
                    sequence.store(layer, p, kv[0][layer], 0, kv[1][layer], 0);
                }
            }
            sequence.advance(ids);
        } else if (choice < 70) {
            for (int p = 0; p < model.length(); p++) {
                model.assertPosition(sequence, spec, p, Thread.currentThread().getName() + " seq " + sequence.id());
            }
            if (model.length() > 0) {
                sequence.attention(1, model.length() - 1, 4, q, out);
                for (float x : out) {
                    assertTrue(Float.isFinite(x));
                }
            }
        } else if (choice < 80) {
            int n = random.nextInt(model.length() + 1);
            sequence.truncate(n);
            model.truncate(n);
        } else if (choice < 87) {
            int other = 1 - slot;
            KvSequence previous = sequences[other];
            if (previous != null) {
                previous.close();
                sequences[other] = null;
                models[other] = null;
            }
            sequences[other] = sequence.fork();
            models[other] = model.copy();
        } else if (choice < 94) {
            sequence.close();
            sequences[slot] = null;
            models[slot] = null;
        } else {
            sequence.clear();
            model.clear();
        }
        if (sequences[slot] != null) {
            int length = sequence.length();
            if (!sequence.isPreempted()) { // checked after reading: another thread may preempt at any time
                assertEquals(model.length(), length);
            }
        }
    }
}
