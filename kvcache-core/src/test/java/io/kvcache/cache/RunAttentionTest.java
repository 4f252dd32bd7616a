package io.kvcache.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The multi-position {@link KvSequence#attention(int, int, int, int, float[], int, int, float[], int, int,
 * int, int, float[])} through the public API: what it computes for stored but not yet advanced
 * positions (a prompt's own rows), how it rejects bad arguments before writing anything, and its
 * scratch sizes. Bit-identity with single-position calls is tested in depth in
 * {@code cache.internal.MultiQueryAttentionTest}.
 */
class RunAttentionTest {
    private static final KvCacheSpec SPEC = KvCacheSpec.builder().layers(2).kvHeads(2).headDim(4)
            .contextLength(256).blockSize(16).build();
    private static final int HEADS = 4;
    private static final int WIDTH = HEADS * 4;

    @Test
    void aRunOverStoredPositionsEqualsOneCallPerPosition() {
        try (KvCache cache = KvCache.builder(SPEC).build(); KvSequence sequence = cache.newSequence()) {
            KvSequenceTest.append(sequence, SPEC, 1, KvSequenceTest.ids(0, 20));
            // The prompt's rows are stored, not advanced, while its attention runs.
            sequence.reserve(30);
            float[] k = new float[SPEC.kvDim()];
            for (int p = 20; p < 50; p++) {
                for (int i = 0; i < k.length; i++) {
                    k[i] = (p * 7 + i) % 5 - 2f;
                }
                sequence.store(1, p, k, 0, k, 0);
                sequence.store(0, p, k, 0, k, 0);
            }
            float[] q = new float[30 * WIDTH];
            for (int i = 0; i < q.length; i++) {
                q[i] = (i % 11) * 0.1f - 0.5f;
            }
            float[] expected = new float[q.length];
            float[] scratch = new float[sequence.attentionScratchSize()];
            for (int i = 0; i < 30; i++) {
                sequence.attention(1, 20 + i, HEADS, q, i * WIDTH, expected, i * WIDTH, 0, HEADS, scratch);
            }
            float[] actual = new float[q.length];
            sequence.attention(1, 20, 30, HEADS, q, 0, WIDTH, actual, 0, WIDTH, 0, HEADS,
                    new float[sequence.attentionScratchSize(HEADS, 30)]);
            assertArrayEquals(expected, actual);
            // Position 20 sees 21 positions, position 49 sees 50: outputs differ from row to row.
            assertTrue(expected[0] != expected[29 * WIDTH] || expected[1] != expected[29 * WIDTH + 1]);
        }
    }

    @Test
    void badArgumentsAreRejectedBeforeAnythingIsWritten() {
        try (KvCache cache = KvCache.builder(SPEC).build(); KvSequence sequence = cache.newSequence()) {
            KvSequenceTest.append(sequence, SPEC, 1, KvSequenceTest.ids(0, 40));
            float[] q = new float[10 * WIDTH];
            float[] out = new float[10 * WIDTH];
            java.util.Arrays.fill(out, 42f);
            float[] scratch = new float[sequence.attentionScratchSize(HEADS, 10)];
            IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                    () -> sequence.attention(0, 0, 0, HEADS, q, 0, WIDTH, out, 0, WIDTH, 0, HEADS, scratch));
            assertTrue(count.getMessage().contains("count (0)"), count.getMessage());
            IllegalArgumentException stride = assertThrows(IllegalArgumentException.class,
                    () -> sequence.attention(0, 0, 2, HEADS, q, 0, WIDTH - 1, out, 0, WIDTH, 0, HEADS, scratch));
            assertTrue(stride.getMessage().contains("queryHeads*headDim = 16"), stride.getMessage());
            assertThrows(IndexOutOfBoundsException.class,
                    () -> sequence.attention(0, 0, 10, HEADS, q, 1, WIDTH, out, 0, WIDTH, 0, HEADS, scratch));
            assertThrows(IndexOutOfBoundsException.class,
                    () -> sequence.attention(0, 0, 10, HEADS, q, 0, WIDTH, out, 0, WIDTH + 1, 0, HEADS, scratch));
            IllegalStateException notStored = assertThrows(IllegalStateException.class,
                    () -> sequence.attention(0, 35, 10, HEADS, q, 0, WIDTH, out, 0, WIDTH, 0, HEADS, scratch));
            assertTrue(notStored.getMessage().contains("position 40 "), notStored.getMessage());
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                    () -> sequence.attention(0, 0, 2, HEADS, q, 0, WIDTH, out, 0, WIDTH, 0, HEADS,
                            new float[sequence.attentionScratchSize() - 1]));
            assertTrue(small.getMessage().contains("attentionScratchSize()"), small.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> sequence.attention(0, 0, 2, 3, q, 0, WIDTH, out, 0, WIDTH, 0, 3, scratch));
            for (float f : out) {
                assertEquals(42f, f);
            }
        }
    }

    @Test
    void aQueryWhoseWindowWasDroppedFailsTheWholeRunUnwritten() {
        KvCacheSpec spec = KvCacheSpec.builder().layers(1).kvHeads(2).headDim(4).contextLength(256).blockSize(16)
                .build();
        try (KvCache cache = KvCache.builder(spec).slidingWindow(40, 4).build();
             KvSequence sequence = cache.newSequence()) {
            // Advancing to 100 frees the blocks wholly below 100 - 40 + 1 = 61 but the sinks' block 0.
            KvSequenceTest.append(sequence, spec, 1, KvSequenceTest.ids(0, 100));
            float[] q = new float[40 * WIDTH];
            float[] out = new float[40 * WIDTH];
            float[] scratch = new float[sequence.attentionScratchSize(HEADS, 40)];
            // Positions 87..99 see the sinks and blocks 3..6; position 80 would need block 2, which was freed.
            sequence.attention(0, 87, 13, HEADS, q, 0, WIDTH, out, 0, WIDTH, 0, HEADS, scratch);
            java.util.Arrays.fill(out, 42f);
            IllegalStateException dropped = assertThrows(IllegalStateException.class,
                    () -> sequence.attention(0, 80, 20, HEADS, q, 0, WIDTH, out, 0, WIDTH, 0, HEADS, scratch));
            assertTrue(dropped.getMessage().contains("sliding window"), dropped.getMessage());
            for (float f : out) {
                assertEquals(42f, f);
            }
        }
    }

    @Test
    void scratchSizesGrowWithTheRunAndTheGroupAndStartAtTheSinglePositionSize() {
        try (KvCache cache = KvCache.builder(SPEC).build(); KvSequence sequence = cache.newSequence()) {
            int single = sequence.attentionScratchSize();
            assertEquals(256 + 4, single);
            assertEquals(1 * 2 * single + 16 * 4, sequence.attentionScratchSize(HEADS, 1));
            assertEquals(32 * 2 * single + 16 * 4, sequence.attentionScratchSize(HEADS, 32));
            assertEquals(32 * single + 16 * 4, sequence.attentionScratchSize(2, 32));
        }
    }
}
