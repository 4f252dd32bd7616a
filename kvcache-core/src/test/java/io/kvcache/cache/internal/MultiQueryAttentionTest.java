package io.kvcache.cache.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvElementType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link PagedAttention#attendRun} (many consecutive query positions in one walk over the blocks)
 * against {@link PagedAttention#attend} once per position: the outputs must be bit-identical, for
 * every K/V element type, the scalar and the best (vector) kernels, head sizes that are and are not a
 * multiple of the vector lanes, grouped-query ratios, sliding windows with and without sinks, runs that
 * start and end inside blocks, head ranges that split a group, and scratch sizes from the minimum (per
 * position fallback) to whole runs. Blocks that no query of the run sees are unmapped (-1) in the
 * table, so a walk that touched them would throw.
 */
class MultiQueryAttentionTest {
    private static final int LAYERS = 2;
    private static final int KV_HEADS = 2;
    private static final int CONTEXT = 160;
    private static final int BLOCK = 16;

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (KvElementType type : KvElementType.values()) {
            for (int headDim : type == KvElementType.Q8_0 ? new int[] {32, 64} : new int[] {20, 64}) {
                for (int ratio : new int[] {1, 3}) {
                    for (int[] window : new int[][] {{0, 0}, {37, 0}, {40, 5}, {9, 20}}) {
                        cases.add(Arguments.of(type, headDim, ratio, window[0], window[1]));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} headDim={1} gqa={2} window={3} sinks={4}")
    @MethodSource("cases")
    void runMatchesSinglePositionsBitForBit(KvElementType type, int headDim, int ratio, int window, int sinks) {
        KvCacheSpec spec = KvCacheSpec.builder().layers(LAYERS).kvHeads(KV_HEADS).headDim(headDim)
                .contextLength(CONTEXT).elementType(type).blockSize(BLOCK).build();
        int queryHeads = KV_HEADS * ratio;
        int width = queryHeads * headDim;
        SplittableRandom random = new SplittableRandom(31L * headDim + 7L * ratio + window + 1000L * sinks
                + type.ordinal());
        BlockPool pool = new BlockPool(spec, CONTEXT / BLOCK, 3);
        try {
            int[] table = new int[CONTEXT / BLOCK];
            for (int i = 0; i < table.length; i++) {
                table[i] = pool.allocate();
            }
            // Blocks out of order in memory, as a real table can be.
            for (int i = table.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = table[i];
                table[i] = table[j];
                table[j] = t;
            }
            PagedAttention writer = new PagedAttention(spec, pool, Kernels.scalar(), window, sinks);
            float[] k = new float[spec.kvDim()];
            float[] v = new float[spec.kvDim()];
            for (int p = 0; p < CONTEXT; p++) {
                for (int layer = 0; layer < LAYERS; layer++) {
                    fill(random, k, 1f);
                    fill(random, v, 1f);
                    writer.writeRow(table[p / BLOCK], layer, p % BLOCK, k, 0, v, 0);
                }
            }
            for (Kernels kernels : new Kernels[] {Kernels.scalar(), Kernels.best()}) {
                PagedAttention attention = new PagedAttention(spec, pool, kernels, window, sinks);
                int[][] runs = {{0, 1}, {0, 40}, {5, 60}, {17, 1}, {31, 33}, {100, 60}, {CONTEXT - 3, 3}};
                int[] scratchSizes = {
                    attention.scratchSize(),
                    attention.scratchSize() + BLOCK * headDim + 1,
                    attention.runScratchSize(queryHeads, 4) - 1,
                    attention.runScratchSize(queryHeads, 64)};
                int variant = 0;
                for (int[] run : runs) {
                    int first = run[0];
                    int count = run[1];
                    int qStride = width + 3;
                    int outStride = width + 1;
                    float[] q = new float[2 + count * qStride];
                    fill(random, q, 3f);
                    int layer = variant % LAYERS;
                    int[] visible = visibleOnly(attention, table, first, count, window, sinks);
                    float[] scratch = new float[scratchSizes[variant++ % scratchSizes.length]];
                    float[] expected = new float[1 + count * outStride];
                    for (int i = 0; i < count; i++) {
                        attention.attend(visible, layer, first + i, queryHeads, q, 2 + i * qStride, expected,
                                1 + i * outStride, 0, queryHeads, scratch);
                    }
                    float[] again = new float[1 + count * outStride];
                    for (int i = 0; i < count; i++) {
                        attention.attend(visible, layer, first + i, queryHeads, q, 2 + i * qStride, again,
                                1 + i * outStride, 0, queryHeads, scratch);
                    }
                    assertBitIdentical(expected, again, "single positions twice (deterministic), " + kernels + " run "
                            + Arrays.toString(run));
                    float[] actual = new float[expected.length];
                    Arrays.fill(actual, Float.NaN);
                    actual[0] = expected[0];
                    // Two head ranges that split a group (as parallel workers would), each over the whole run.
                    int split = queryHeads / 2 + (queryHeads > 2 ? 1 : 0);
                    attention.attendRun(visible, layer, first, count, queryHeads, q, 2, qStride, actual, 1,
                            outStride, 0, split, scratch);
                    attention.attendRun(visible, layer, first, count, queryHeads, q, 2, qStride, actual, 1,
                            outStride, split, queryHeads, scratch);
                    for (int i = 0; i < count; i++) {
                        // The gaps between rows are not part of any output.
                        int gap = 1 + i * outStride + width;
                        expected[gap] = actual[gap];
                    }
                    assertBitIdentical(expected, actual, kernels + " run " + Arrays.toString(run));
                }
            }
        } finally {
            pool.close();
        }
    }

    /** The table with every block that no query of the run sees unmapped (as the window frees them). */
    private static int[] visibleOnly(PagedAttention attention, int[] table, int first, int count, int window,
                                     int sinks) {
        int[] visible = new int[table.length];
        Arrays.fill(visible, -1);
        for (int p = first; p < first + count; p++) {
            int windowStart = attention.windowStart(p);
            for (int x = 0; x <= p; x++) {
                if (x < Math.min(sinks, windowStart) || x >= windowStart) {
                    visible[x / BLOCK] = table[x / BLOCK];
                }
            }
        }
        for (int p = first; p < first + count; p++) {
            assertEquals(-1, attention.firstMissing(visible, p), "window " + window);
        }
        return visible;
    }

    private static void assertBitIdentical(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", single-position attention"
                        + " gives " + expected[i]);
            }
        }
        assertTrue(expected.length > 1);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void runScratchSizeCoversWholeGroupsAndNeverGoesBelowTheSinglePositionSize(KvElementType type) {
        KvCacheSpec spec = KvCacheSpec.builder().layers(1).kvHeads(2).headDim(64).contextLength(100)
                .elementType(type).build();
        BlockPool pool = new BlockPool(spec, 7, 7);
        try {
            PagedAttention attention = new PagedAttention(spec, pool, Kernels.best(), 0, 0);
            assertEquals(100 + 64, attention.scratchSize());
            assertEquals(8 * 4 * (100 + 64) + spec.blockSize() * 64, attention.runScratchSize(8, 8));
            PagedAttention windowed = new PagedAttention(spec, pool, Kernels.best(), 10, 4);
            assertEquals(3 * (14 + 64) + spec.blockSize() * 64, windowed.runScratchSize(2, 3));
            // Far more than an int can hold is capped, not overflowed.
            assertEquals(Integer.MAX_VALUE - 8, attention.runScratchSize(2, Integer.MAX_VALUE));
        } finally {
            pool.close();
        }
    }

    static Stream<KvElementType> types() {
        return Stream.of(KvElementType.values());
    }

    private static void fill(SplittableRandom random, float[] a, float range) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextDouble(-range, range);
        }
    }
}
