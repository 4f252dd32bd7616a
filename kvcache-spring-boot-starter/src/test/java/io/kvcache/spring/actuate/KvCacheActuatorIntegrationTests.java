package io.kvcache.spring.actuate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheStats;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.inference.Session;
import io.kvcache.testing.SharedModels;
import java.lang.reflect.RecordComponent;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * A real server with the stories260K model: after generations, the endpoint, the health details and
 * the metrics report the cached tokens; write operations are refused under the default read-only access.
 */
@SpringBootTest(classes = TestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "kvcache.threads=1",
            "kvcache.cache.context-length=256",
            "kvcache.cache.max-sequences=2",
            "management.endpoints.web.exposure.include=kvcache,health,metrics,prometheus",
            "management.endpoint.health.show-details=always",
            "management.endpoint.health.group.readiness.include=kvcache",
        })
@DirtiesContext
class KvCacheActuatorIntegrationTests {
    /** 47 prompt tokens (BOS included): two full blocks of 16 get prefix-cached. */
    static final String PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play outside"
            + " in the park with her friends. One day, she saw a big red ball.";

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("kvcache.model.path", () -> SharedModels.model("stories260K.gguf").toString());
    }

    @LocalServerPort
    int port;

    @Autowired
    Generator generator;

    @Autowired
    KvCache cache;

    @Autowired
    KvCacheMeterBinder meters;

    Http http;

    @BeforeEach
    void client() {
        http = new Http(port);
    }

    @Test
    void anOpenSessionsCachedTokensShowInEndpointHealthAndMetrics() {
        try (Session session = generator.newSession()) {
            GenerationResult result = session.generate(GenerationRequest.greedy(PROMPT, 12));
            meters.record(result);
            int cached = session.cachedTokens();
            assertThat(cached).isEqualTo(result.usage().promptTokens() + result.tokens().length - 1);
            assertThat(cached).isGreaterThan(40);

            JsonNode report = http.json("/actuator/kvcache");
            JsonNode spec = report.get("spec");
            assertThat(spec.get("layers").asInt()).isEqualTo(5);
            assertThat(spec.get("kvHeads").asInt()).isEqualTo(4);
            assertThat(spec.get("headDim").asInt()).isEqualTo(8);
            assertThat(spec.get("contextLength").asInt()).isEqualTo(256);
            assertThat(spec.get("keyType").asString()).isEqualTo("F32");
            assertThat(spec.get("valueType").asString()).isEqualTo("F32");
            assertThat(spec.get("blockSize").asInt()).isEqualTo(16);
            assertThat(spec.get("bytesPerToken").asLong()).isEqualTo(2L * 5 * 4 * 8 * 4);
            assertThat(report.get("strategy").asString()).isEqualTo("ALWAYS");
            JsonNode stats = report.get("stats");
            List<String> names = new ArrayList<>();
            for (RecordComponent c : KvCacheStats.class.getRecordComponents()) {
                names.add(c.getName());
            }
            names.add("prefixHitRate");
            assertThat(stats.propertyNames()).containsExactlyElementsOf(names);
            assertThat(stats.get("tokens").asLong()).isEqualTo(cached);
            assertThat(stats.get("sequences").asInt()).isEqualTo(1);
            assertThat(stats.get("blocksUsed").asInt()).isEqualTo((cached + 15) / 16);
            assertThat(stats.get("bytesUsed").asLong()).isEqualTo((cached + 15) / 16 * 16L * 1280);
            JsonNode sequences = report.get("sequences");
            assertThat(sequences).hasSize(1);
            JsonNode sequence = sequences.get(0);
            assertThat(sequence.propertyNames()).containsExactly("id", "tokens", "blocks", "sharedBlocks", "ageSeconds");
            assertThat(sequence.get("tokens").asInt()).isEqualTo(cached);
            assertThat(sequence.get("ageSeconds").asDouble()).isPositive();

            long id = sequence.get("id").asLong();
            assertThat(http.json("/actuator/kvcache/" + id).get("tokens").asInt()).isEqualTo(cached);
            assertThat(http.send("GET", "/actuator/kvcache/987654").statusCode()).isEqualTo(404);

            JsonNode health = http.json("/actuator/health/kvcache");
            assertThat(health.get("status").asString()).isEqualTo("UP");
            assertThat(health.get("details").get("tokens").asLong()).isEqualTo(cached);
            assertThat(health.get("details").get("sequences").asInt()).isEqualTo(1);
            assertThat(health.get("details").get("maxSequences").asInt()).isEqualTo(2);
            assertThat(health.get("details").get("blocksUsed").asInt()).isEqualTo((cached + 15) / 16);

            await().atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(http.metric("kvcache.tokens")).isEqualTo(cached));
            assertThat(http.metric("kvcache.sequences")).isEqualTo(1);
            assertThat(http.metric("kvcache.blocks", "state:used")).isEqualTo((cached + 15) / 16);
            assertThat(http.metric("kvcache.generation.tokens", "kind:completion")).isEqualTo(12);
            assertThat(http.metric("kvcache.generation.time.to.first.token")).isEqualTo(1);

            // Read-only by default: the delete operations are not mapped, and nothing changes.
            assertThat(http.send("DELETE", "/actuator/kvcache/" + id).statusCode()).isIn(404, 405);
            assertThat(http.send("DELETE", "/actuator/kvcache").statusCode()).isIn(404, 405);
            assertThat(cache.sequenceInfo(id)).isNotNull().extracting(s -> s.tokens()).isEqualTo(cached);
        }
        // The session closed: its full prompt blocks stay prefix-cached and a second one-shot
        // generation with the same prompt attaches them.
        JsonNode stats = http.json("/actuator/kvcache").get("stats");
        assertThat(stats.get("sequences").asInt()).isZero();
        assertThat(stats.get("blocksCached").asInt()).isGreaterThanOrEqualTo(2);
        long hitsBefore = stats.get("prefixHitTokens").asLong();

        GenerationResult again = generator.generate(GenerationRequest.greedy(PROMPT, 4));
        meters.record(again);
        assertThat(again.usage().cachedPromptTokens()).isGreaterThanOrEqualTo(32);
        JsonNode after = http.json("/actuator/kvcache").get("stats");
        assertThat(after.get("prefixHitTokens").asLong() - hitsBefore).isEqualTo(again.usage().cachedPromptTokens());
        assertThat(after.get("prefixHitRate").asDouble()).isPositive();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            assertThat(http.metric("kvcache.prefix.hits")).isEqualTo(after.get("prefixHitTokens").asDouble());
            assertThat(http.metric("kvcache.generation.tokens", "kind:cached"))
                    .isEqualTo(again.usage().cachedPromptTokens());
        });
        assertThat(http.json("/actuator/health/kvcache").get("details").get("blocksCached").asInt())
                .isEqualTo(after.get("blocksCached").asInt());

        HttpResponse<String> prometheus = http.send("GET", "/actuator/prometheus");
        assertThat(prometheus.statusCode()).isEqualTo(200);
        assertThat(prometheus.body())
                .contains("kvcache_usage ")
                .contains("kvcache_blocks{state=\"cached\"} " + after.get("blocksCached").asInt() + ".0")
                .contains("kvcache_memory_bytes{state=\"reserved\"}")
                .contains("kvcache_prefix_hits_tokens_total " + after.get("prefixHitTokens").asLong() + ".0")
                .contains("kvcache_generation_tokens_total{kind=\"completion\"} 16.0")
                .contains("kvcache_generation_time_to_first_token_seconds_count 2")
                .contains("kvcache_generation_token_latency_seconds_count 14");
    }

    @Test
    @SuppressWarnings("try") // the open sequences are the point
    void healthGoesOutOfServiceWhenNoSequenceCanBeAdmittedAndTheReadinessGroupFollows() {
        assertThat(http.json("/actuator/health/readiness").get("status").asString()).isEqualTo("UP");
        try (var a = cache.newSequence(); var b = cache.newSequence()) {
            HttpResponse<String> health = http.send("GET", "/actuator/health/kvcache");
            assertThat(health.statusCode()).isEqualTo(503);
            JsonNode body = http.parse(health.body());
            assertThat(body.get("status").asString()).isEqualTo("OUT_OF_SERVICE");
            assertThat(body.get("details").get("reason").asString()).contains("all 2 sequences are in use");
            assertThat(http.send("GET", "/actuator/health/readiness").statusCode()).isEqualTo(503);
        }
        assertThat(http.json("/actuator/health/kvcache").get("status").asString()).isEqualTo("UP");
    }
}
