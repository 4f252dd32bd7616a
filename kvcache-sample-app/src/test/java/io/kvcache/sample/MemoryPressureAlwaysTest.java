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
 * Eight concurrent greedy streams on a cache with room for three, strategy ALWAYS (no preemption):
 * the requests that do not fit are refused (429) at admission, before any token (never with a
 * {@code kv_cache_full} error event mid-stream: a request's whole budget is reserved when admitted);
 * every request that completes has exactly its unpressured output,
 * and nothing hangs or leaks.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {MemoryPressure.BUDGET, "kvcache.cache.strategy=always"})
class MemoryPressureAlwaysTest {
    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("kvcache.model.path", () -> SharedModels.model("stories260K.gguf").toString());
    }

    @Test
    @Timeout(60)
    void requestsThatDoNotFitFailCleanlyAndTheOthersAreExact() throws Exception {
        Map<String, List<Integer>> expected = MemoryPressure.unpressured();
        TestHttp http = new TestHttp(port);
        assertThat(http.getJson("/actuator/kvcache").get("stats").get("blocksTotal").asInt()).isEqualTo(21);

        long start = System.nanoTime();
        List<Outcome> outcomes = MemoryPressure.runAll(http, Duration.ofSeconds(45));
        long ms = (System.nanoTime() - start) / 1_000_000;

        int completed = 0;
        int refused = 0;
        int failedMidStream = 0;
        for (Outcome o : outcomes) {
            List<Integer> reference = expected.get(o.prompt());
            if (o.completed()) {
                completed++;
                assertThat(o.tokens()).as(o.prompt()).isEqualTo(reference);
            } else if (o.status() == 429) {
                refused++;
                assertThat(o.errorCode()).as(o.toString()).isEqualTo("kv_cache_full");
            } else {
                failedMidStream++;
                assertThat(o.status()).as(o.toString()).isEqualTo(200);
                assertThat(o.doneOrError()).isEqualTo("error");
                assertThat(o.errorCode()).as(o.toString()).isEqualTo("kv_cache_full");
                assertThat(o.message()).contains("kvcache.cache.memory-budget");
                // What was streamed before the failure is the start of the right output.
                assertThat(reference.subList(0, o.tokens().size())).as(o.prompt()).isEqualTo(o.tokens());
            }
        }
        System.out.printf("ALWAYS: %d requests in %d ms: %d completed, %d refused (429), %d kv_cache_full mid-stream%n",
                outcomes.size(), ms, completed, refused, failedMidStream);
        assertThat(completed).as("the budget holds three whole sequences").isPositive();
        assertThat(refused).as("eight do not fit: the rest are refused with 429 at admission").isPositive();
        assertThat(failedMidStream).as("ALWAYS reserves a whole request at admission, so none fails mid-stream")
                .isZero();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> http.getJson("/actuator/kvcache").get("stats").get("sequences").asInt() == 0);
        JsonNode stats = http.getJson("/actuator/kvcache").get("stats");
        assertThat(stats.get("blocksUsed").asInt()).isZero();
        assertThat(stats.get("preemptions").asLong()).isZero();
    }
}
