package io.kvcache.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvcache.sample.MemoryPressure.Outcome;
import io.kvcache.testing.SharedModels;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Eight concurrent greedy streams on a cache with room for three, strategy ADAPTIVE: the cache
 * preempts sequences to admit and grow others, the engine recomputes a preempted sequence from its
 * tokens, so every request completes with exactly its unpressured output.
 *
 * <p>Disabled until the core bug it found is fixed (see RELIABILITY.md, "Memory pressure"): under
 * ADAPTIVE preemption, 2-5 of the 8 completed greedy outputs diverge from the unpressured run (also
 * with the library alone, without the app, and with prefix caching off); some requests also fail
 * with {@code CacheFullException} or a {@code SequencePreemptedException} after the engine's 8 retries.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {MemoryPressure.BUDGET, "kvcache.cache.strategy=adaptive"})
class MemoryPressureAdaptiveTest {
    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("kvcache.model.path", () -> SharedModels.model("stories260K.gguf").toString());
    }

    @Test
    @Timeout(60)
    void everyRequestCompletesWithItsUnpressuredOutput() throws Exception {
        Map<String, List<Integer>> expected = MemoryPressure.unpressured();
        TestHttp http = new TestHttp(port);
        JsonNode before = http.getJson("/actuator/kvcache");
        assertThat(before.get("strategy").asString()).containsIgnoringCase("adaptive");
        assertThat(before.get("stats").get("blocksTotal").asInt()).as("the budget holds 21 blocks").isEqualTo(21);
        long preemptionsBefore = before.get("stats").get("preemptions").asLong();

        long start = System.nanoTime();
        List<Outcome> outcomes = MemoryPressure.runAll(http, Duration.ofSeconds(45));
        System.out.printf("ADAPTIVE: %d requests in %d ms%n", outcomes.size(), (System.nanoTime() - start) / 1_000_000);

        for (Outcome o : outcomes) {
            List<Integer> want = expected.get(o.prompt());
            int diverged = -1;
            for (int i = 0; i < Math.min(want.size(), o.tokens().size()); i++) {
                if (!want.get(i).equals(o.tokens().get(i))) {
                    diverged = i;
                    break;
                }
            }
            System.out.printf("ADAPTIVE: %-20s %s after %d tokens (%s), first wrong token at %d%n", o.prompt(),
                    o.completed() ? "done" : o.errorCode(), o.tokens().size(), o.message(), diverged);
        }
        for (Outcome o : outcomes) {
            assertThat(o.completed()).as(o.prompt() + " ended with " + o).isTrue();
            assertThat(o.tokens()).as(o.prompt()).isEqualTo(expected.get(o.prompt()));
        }
        await().atMost(Duration.ofSeconds(10))
                .until(() -> http.getJson("/actuator/kvcache").get("stats").get("sequences").asInt() == 0);
        JsonNode stats = http.getJson("/actuator/kvcache").get("stats");
        long preemptions = stats.get("preemptions").asLong() - preemptionsBefore;
        System.out.printf("ADAPTIVE: %d preemptions%n", preemptions);
        assertThat(preemptions).as("the budget was tight enough to preempt").isPositive();
        assertThat(stats.get("blocksUsed").asInt()).isZero();
    }
}
