package io.kvcache.spring.actuate;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvSequence;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.Generator;
import io.kvcache.inference.Session;
import io.kvcache.testing.SharedModels;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/** With {@code management.endpoint.kvcache.access=unrestricted} the delete operations evict and clear. */
@SpringBootTest(classes = TestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "kvcache.threads=1",
            "kvcache.cache.context-length=256",
            "management.endpoints.web.exposure.include=kvcache",
            "management.endpoint.kvcache.access=unrestricted",
        })
@DirtiesContext
class KvCacheEndpointWriteAccessTests {

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

    @Test
    void deleteEvictsASequenceAndClearsThePrefixCache() {
        Http http = new Http(port);
        try (Session session = generator.newSession()) {
            session.generate(GenerationRequest.greedy(KvCacheActuatorIntegrationTests.PROMPT, 8));
            long id = cache.sequences().getFirst().id();
            int tokens = session.cachedTokens();
            assertThat(tokens).isPositive();

            HttpResponse<String> evicted = http.send("DELETE", "/actuator/kvcache/" + id);
            assertThat(evicted.statusCode()).isEqualTo(200);
            JsonNode body = http.parse(evicted.body());
            assertThat(body.get("id").asLong()).isEqualTo(id);
            assertThat(body.get("evicted").asBoolean()).isTrue();
            assertThat(session.cachedTokens()).isZero();
            JsonNode stats = http.json("/actuator/kvcache").get("stats");
            assertThat(stats.get("preemptions").asLong()).isEqualTo(1);
            assertThat(stats.get("blocksUsed").asInt()).isZero();

            JsonNode unknown = http.parse(http.send("DELETE", "/actuator/kvcache/424242").body());
            assertThat(unknown.get("evicted").asBoolean()).isFalse();
            assertThat(unknown.get("detail").asString()).contains("no live sequence");

            // The evicted session recomputes its history on the next turn.
            var next = session.generate(GenerationRequest.greedy(" The end.", 4));
            assertThat(next.tokens()).hasSize(4);
            assertThat(session.cachedTokens()).isGreaterThan(tokens);
        }
        int cachedBlocks = cache.stats().blocksCached();
        assertThat(cachedBlocks).isPositive();
        HttpResponse<String> cleared = http.send("DELETE", "/actuator/kvcache");
        assertThat(cleared.statusCode()).isEqualTo(200);
        assertThat(http.parse(cleared.body()).get("blocksDropped").asInt()).isEqualTo(cachedBlocks);
        assertThat(cache.stats().blocksCached()).isZero();
        try (KvSequence fresh = cache.newSequence(generator.promptTokens(
                GenerationRequest.greedy(KvCacheActuatorIntegrationTests.PROMPT, 1)))) {
            assertThat(fresh.length()).as("nothing is attached after clearing").isZero();
        }
    }
}
