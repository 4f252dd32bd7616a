package io.kvcache.spring.actuate;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvElementType;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.ActiveProfiles;
import tools.jackson.databind.JsonNode;

/** {@code application-dims.yml} gives only the four dimensions: a stand-alone F32 pool, no engine. */
@SpringBootTest(classes = TestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ActiveProfiles("dims")
class DimensionsOnlyYamlTests {

    @LocalServerPort
    int port;

    @Autowired
    KvCache cache;

    @Autowired
    ObjectProvider<InferenceEngine> engine;

    @Autowired
    ObjectProvider<Generator> generator;

    @Test
    void theYamlDimensionsShapeThePoolAndTheEndpointShowsItsCapacity() {
        assertThat(engine.getIfAvailable()).isNull();
        assertThat(generator.getIfAvailable()).isNull();
        assertThat(cache.spec().keyType()).isEqualTo(KvElementType.F32);
        assertThat(cache.spec().bytesPerToken()).isEqualTo(2L * 22 * 4 * 64 * 4);

        JsonNode report = new Http(port).json("/actuator/kvcache");
        assertThat(report.get("spec").get("contextLength").asInt()).isEqualTo(2048);
        assertThat(report.get("spec").get("bytesPerToken").asLong()).isEqualTo(2L * 22 * 4 * 64 * 4);
        assertThat(report.get("stats").get("blocksTotal").asInt()).isEqualTo(16 * 2048 / 16);
        assertThat(report.get("sequences")).isEmpty();
        assertThat(new Http(port).json("/actuator/health/kvcache").get("status").asString()).isEqualTo("UP");
    }
}
