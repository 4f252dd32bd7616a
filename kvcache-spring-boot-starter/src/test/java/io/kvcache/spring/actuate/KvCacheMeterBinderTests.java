package io.kvcache.spring.actuate;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvSequence;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.StopReason;
import io.kvcache.inference.TokenEvent;
import io.kvcache.inference.Usage;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Every meter reads the cache's live statistics; generation meters follow {@code record}. */
class KvCacheMeterBinderTests {
    private static final KvCacheSpec SPEC = KvCacheSpec.builder().layers(2).kvHeads(1).headDim(4).contextLength(64)
            .blockSize(4).build();

    @Test
    void cacheMetersFollowTheStatistics() {
        try (KvCache cache = KvCache.builder(SPEC).maxBlocks(8).build()) {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            new KvCacheMeterBinder(cache, List.of(Tag.of("cache", "test"))).bindTo(registry);
            int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9};
            try (KvSequence s = cache.newSequence(prompt)) {
                fill(s, prompt);
                assertThat(registry.get("kvcache.tokens").tag("cache", "test").gauge().value()).isEqualTo(9);
                assertThat(registry.get("kvcache.sequences").gauge().value()).isEqualTo(1);
                assertThat(registry.get("kvcache.blocks").tag("state", "used").gauge().value()).isEqualTo(3);
                assertThat(registry.get("kvcache.blocks").tag("state", "free").gauge().value()).isEqualTo(5);
                assertThat(registry.get("kvcache.usage").gauge().value()).isEqualTo(3 / 8.0);
                assertThat(registry.get("kvcache.memory").tag("state", "used").gauge().value())
                        .isEqualTo(3 * SPEC.bytesPerBlock());
                assertThat(registry.get("kvcache.memory").tag("state", "used").gauge().getId().getBaseUnit())
                        .isEqualTo("bytes");
            }
            // Two full blocks of the closed sequence stay prefix-cached; the same prompt hits them.
            assertThat(registry.get("kvcache.blocks").tag("state", "cached").gauge().value()).isEqualTo(2);
            try (KvSequence s = cache.newSequence(prompt)) {
                assertThat(s.length()).isEqualTo(8);
            }
            assertThat(registry.get("kvcache.prefix.queries").functionCounter().count()).isEqualTo(18);
            assertThat(registry.get("kvcache.prefix.hits").functionCounter().count()).isEqualTo(8);
            assertThat(registry.get("kvcache.prefix.hits").functionCounter().getId().getBaseUnit()).isEqualTo("tokens");
            assertThat(registry.get("kvcache.evictions").functionCounter().count()).isZero();
            assertThat(registry.get("kvcache.preemptions").functionCounter().count()).isZero();
        }
    }

    @Test
    void recordCountsTokensAndTimesEveryRegistry() {
        try (KvCache cache = KvCache.builder(SPEC).build()) {
            KvCacheMeterBinder binder = new KvCacheMeterBinder(cache);
            SimpleMeterRegistry first = new SimpleMeterRegistry();
            SimpleMeterRegistry second = new SimpleMeterRegistry();
            binder.bindTo(first);
            binder.bindTo(second);
            binder.record(new Usage(20, 16, 5, Duration.ofMillis(30), 100.0));
            binder.observe(new TokenEvent(0, 7, "x", -0.5));
            binder.observe(new GenerationResult("x", new int[] {7}, StopReason.MAX_TOKENS,
                    new Usage(10, 0, 1, Duration.ofMillis(10), 0.0)));
            for (SimpleMeterRegistry registry : List.of(first, second)) {
                assertThat(registry.get("kvcache.generation.tokens").tag("kind", "prompt").counter().count()).isEqualTo(30);
                assertThat(registry.get("kvcache.generation.tokens").tag("kind", "cached").counter().count()).isEqualTo(16);
                assertThat(registry.get("kvcache.generation.tokens").tag("kind", "completion").counter().count())
                        .isEqualTo(6);
                Timer ttft = registry.get("kvcache.generation.time.to.first.token").timer();
                assertThat(ttft.count()).isEqualTo(2);
                assertThat(ttft.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(40.0);
                Timer latency = registry.get("kvcache.generation.token.latency").timer();
                assertThat(latency.count()).as("tokens after the first").isEqualTo(4);
                assertThat(latency.mean(TimeUnit.MILLISECONDS)).isEqualTo(10.0);
            }
        }
    }

    @Test
    void aTokenTimerRecordsTheRealGapsBetweenTokensAndTheResultOnce() {
        try (KvCache cache = KvCache.builder(SPEC).build()) {
            KvCacheMeterBinder binder = new KvCacheMeterBinder(cache);
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            binder.bindTo(registry);
            long[] times = {100_000_000L, 130_000_000L, 150_000_000L};
            int[] call = {0};
            KvCacheMeterBinder.TokenTimer timer = binder.new TokenTimer(() -> times[call[0]++]);
            for (int i = 0; i < 3; i++) {
                timer.accept(new TokenEvent(i, 10 + i, "t", -1.0));
            }
            GenerationResult result = new GenerationResult("ttt", new int[] {10, 11, 12}, StopReason.MAX_TOKENS,
                    new Usage(5, 0, 3, Duration.ofMillis(100), 50.0));
            timer.accept(result);
            timer.accept(result);
            Timer latency = registry.get("kvcache.generation.token.latency").timer();
            assertThat(latency.count()).isEqualTo(2);
            assertThat(latency.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(50.0);
            assertThat(latency.max(TimeUnit.MILLISECONDS)).isEqualTo(30.0);
            assertThat(registry.get("kvcache.generation.tokens").tag("kind", "completion").counter().count()).isEqualTo(3);
            assertThat(registry.get("kvcache.generation.time.to.first.token").timer().count()).isEqualTo(1);
        }
    }

    private static void fill(KvSequence sequence, int[] tokens) {
        float[] row = new float[SPEC.kvDim()];
        sequence.reserve(tokens.length);
        for (int layer = 0; layer < SPEC.layers(); layer++) {
            for (int p = 0; p < tokens.length; p++) {
                sequence.store(layer, p, row, 0, row, 0);
            }
        }
        sequence.advance(tokens);
    }
}
