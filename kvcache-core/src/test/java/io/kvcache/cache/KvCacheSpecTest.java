package io.kvcache.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KvCacheSpecTest {

    @Test
    void computesSizes() {
        KvCacheSpec spec = KvCacheSpec.builder().layers(32).kvHeads(8).headDim(128).contextLength(4096).build();
        assertEquals(16, spec.blockSize());
        assertEquals(KvElementType.F32, spec.keyType());
        assertEquals(1024, spec.kvDim());
        assertEquals(2L * 32 * 8 * 128 * 4, spec.bytesPerToken());
        assertEquals(spec.bytesPerToken() * 16, spec.bytesPerBlock());
        assertEquals(256, spec.blocksFor(4096));
        assertEquals(257, spec.blocksFor(4097));
        KvCacheSpec mixed = KvCacheSpec.builder().layers(2).kvHeads(4).headDim(64).contextLength(16)
                .keyType(KvElementType.Q8_0).valueType(KvElementType.F16).blockSize(8).build();
        assertEquals((2 * 34 + 64 * 2) * 2 * 4, mixed.bytesPerToken());
    }

    @Test
    void elementSizes() {
        assertEquals(128, KvElementType.F32.bytesFor(32));
        assertEquals(64, KvElementType.F16.bytesFor(32));
        assertEquals(68, KvElementType.Q8_0.bytesFor(64));
        assertThrows(IllegalArgumentException.class, () -> KvElementType.Q8_0.bytesFor(33));
        assertThrows(IllegalArgumentException.class, () -> KvElementType.F32.bytesFor(-1));
    }

    @Test
    void rejectsInvalidDimensionsWithTheFix() {
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
                () -> KvCacheSpec.builder().layers(0).kvHeads(1).headDim(4).contextLength(8).build());
        assertEquals("layers must be positive, was 0 (set KvCacheSpec.Builder.layers(...) to the model's value)",
                zero.getMessage());
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> KvCacheSpec.builder().layers(1).kvHeads(1).headDim(4).contextLength(8).blockSize(-16).build());
        assertTrue(negative.getMessage().startsWith("blockSize must be positive, was -16"), negative.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> KvCacheSpec.builder().layers(1).kvHeads(1).headDim(4).build(), "missing context length");
        IllegalArgumentException overflow = assertThrows(IllegalArgumentException.class,
                () -> KvCacheSpec.builder().layers(1 << 20).kvHeads(1 << 12).headDim(1 << 12).contextLength(8).build());
        assertTrue(overflow.getMessage().contains("overflow"), overflow.getMessage());
        IllegalArgumentException q8 = assertThrows(IllegalArgumentException.class,
                () -> KvCacheSpec.builder().layers(1).kvHeads(1).headDim(48).contextLength(8)
                        .valueType(KvElementType.Q8_0).build());
        assertTrue(q8.getMessage().contains("multiple of 32"), q8.getMessage());
    }

    @Test
    void builderValidatesBudgets() {
        KvCacheSpec spec = KvCacheSpec.builder().layers(1).kvHeads(1).headDim(4).contextLength(256).build();
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> KvCache.builder(spec).memoryBudget(10));
        assertTrue(small.getMessage().contains("smaller than one block"), small.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KvCache.builder(spec).maxBlocks(0));
        assertThrows(IllegalArgumentException.class, () -> KvCache.builder(spec).maxSequences(0));
        assertThrows(IllegalArgumentException.class, () -> KvCache.builder(spec).slidingWindow(0, 0));
        assertThrows(IllegalArgumentException.class, () -> KvCache.builder(spec).chunkBlocks(0));
        IllegalArgumentException huge = assertThrows(IllegalArgumentException.class,
                () -> KvCache.builder(spec).memoryBudget(1L << 40).build());
        assertTrue(huge.getMessage().contains("blockSize"), huge.getMessage());
        try (KvCache cache = KvCache.builder(spec).memoryBudget(spec.bytesPerBlock() * 10 + 5).chunkBlocks(4).build()) {
            KvCacheStats stats = cache.stats();
            assertEquals(10, stats.blocksTotal());
            assertEquals(0, stats.bytesReserved(), "memory is allocated lazily");
            assertEquals(10 * spec.bytesPerBlock(), stats.bytesBudget());
            try (KvSequence sequence = cache.newSequence()) {
                sequence.reserve(1);
                assertEquals(4 * spec.bytesPerBlock(), cache.stats().bytesReserved(), "one chunk of 4 blocks");
                sequence.reserve(16 * 9);
                assertEquals(3, cache.stats().chunks());
                assertEquals(10 * spec.bytesPerBlock(), cache.stats().bytesReserved());
                sequence.advance(16 * 9);
                sequence.truncate(16);
                assertEquals(6 * spec.bytesPerBlock(), cache.compact(), "chunks 2 and 3 are empty");
            }
            assertEquals(4 * spec.bytesPerBlock(), cache.compact());
            assertEquals(0, cache.stats().bytesReserved());
        }
    }
}
