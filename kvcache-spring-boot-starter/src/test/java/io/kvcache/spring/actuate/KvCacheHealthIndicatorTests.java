package io.kvcache.spring.actuate;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvSequence;
import org.junit.jupiter.api.Test;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;

/** UP while a sequence can be admitted; OUT_OF_SERVICE when sequences or (non-adaptive) blocks run out. */
class KvCacheHealthIndicatorTests {
    private static final KvCacheSpec SPEC = KvCacheSpec.builder().layers(1).kvHeads(1).headDim(4).contextLength(64)
            .blockSize(4).build();

    private static KvCache cache(CacheStrategy strategy) {
        return KvCache.builder(SPEC).maxBlocks(2).maxSequences(3).strategy(strategy).build();
    }

    private static void fill(KvSequence sequence, int positions) {
        float[] row = new float[SPEC.kvDim()];
        sequence.reserve(positions);
        for (int p = 0; p < positions; p++) {
            sequence.store(0, p, row, 0, row, 0);
        }
        sequence.advance(positions);
    }

    @Test
    void upWithDetailsWhileRoomRemains() {
        try (KvCache cache = cache(CacheStrategy.ALWAYS); KvSequence s = cache.newSequence()) {
            fill(s, 3);
            Health health = new KvCacheHealthIndicator(cache).health();
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("blocksUsed", 1).containsEntry("blocksFree", 1)
                    .containsEntry("blocksCached", 0).containsEntry("sequences", 1).containsEntry("maxSequences", 3)
                    .containsEntry("utilization", 0.5).containsEntry("tokens", 3L);
        }
    }

    @Test
    void outOfServiceWhenEveryBlockIsUsedUnderAlwaysButNotUnderAdaptive() {
        try (KvCache cache = cache(CacheStrategy.ALWAYS); KvSequence s = cache.newSequence()) {
            fill(s, 8);
            Health health = new KvCacheHealthIndicator(cache).health();
            assertThat(health.getStatus()).isEqualTo(Status.OUT_OF_SERVICE);
            assertThat((String) health.getDetails().get("reason")).contains("no free or evictable block")
                    .contains("ALWAYS");
        }
        try (KvCache cache = cache(CacheStrategy.ADAPTIVE); KvSequence s = cache.newSequence()) {
            fill(s, 8);
            assertThat(new KvCacheHealthIndicator(cache).health().getStatus()).isEqualTo(Status.UP);
        }
    }

    @Test
    @SuppressWarnings("try") // the open sequences are the point
    void outOfServiceWhenAllSequencesAreOpen() {
        try (KvCache cache = cache(CacheStrategy.ADAPTIVE); KvSequence a = cache.newSequence();
                KvSequence b = cache.newSequence(); KvSequence c = cache.newSequence()) {
            Health health = new KvCacheHealthIndicator(cache).health();
            assertThat(health.getStatus()).isEqualTo(Status.OUT_OF_SERVICE);
            assertThat((String) health.getDetails().get("reason")).isEqualTo("all 3 sequences are in use");
        }
    }
}
