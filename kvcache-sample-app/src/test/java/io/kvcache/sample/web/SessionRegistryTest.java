package io.kvcache.sample.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvcache.cache.KvCache;
import io.kvcache.gguf.GgufFile;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.model.SyntheticModel;
import io.kvcache.sample.SampleProperties;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;

/** The session registry's bounds: LRU eviction of idle sessions, idle expiry, busy sessions kept. */
class SessionRegistryTest {
    static InferenceEngine engine;
    KvCache cache;
    Generator generator;

    @BeforeAll
    static void model() {
        engine = InferenceEngine.of(GgufFile.read(SyntheticModel.builder().layers(1).embeddingLength(64).heads(2)
                .kvHeads(1).feedForwardLength(128).contextLength(256).seed(3).build()), new EngineOptions(1));
    }

    @AfterAll
    static void closeModel() {
        engine.close();
    }

    @BeforeEach
    void cache() {
        cache = engine.kvCacheBuilder().maxSequences(8).build();
        generator = new Generator(engine, cache);
    }

    @AfterEach
    void closeCache() {
        cache.close();
    }

    SessionRegistry registry(int maxSessions, Duration idleTimeout) {
        return new SessionRegistry(generator, new SampleProperties(new SampleProperties.Sessions(maxSessions, idleTimeout),
                Duration.ofSeconds(1), Duration.ofMinutes(1), Duration.ofMillis(250),
                new SampleProperties.Limits(org.springframework.util.unit.DataSize.ofKilobytes(64), 0, 4096, 64)));
    }

    /** One turn, so the session holds a cache sequence afterwards. */
    static void turn(SessionRegistry registry, String id) {
        SessionRegistry.Lease lease = registry.acquire(id);
        try {
            lease.session().generate(GenerationRequest.greedy("hello", 2));
        } finally {
            lease.release();
        }
    }

    @Test
    void theLeastRecentlyUsedIdleSessionMakesRoomAndFreesItsSequence() {
        try (SessionRegistry registry = registry(2, Duration.ofMinutes(10))) {
            turn(registry, "a");
            turn(registry, "b");
            turn(registry, "a"); // b is now the least recently used
            assertThat(cache.stats().sequences()).isEqualTo(2);
            turn(registry, "c");
            assertThat(registry.size()).isEqualTo(2);
            assertThat(cache.stats().sequences()).isEqualTo(2);
            // a kept its conversation: its next turn reuses the cache.
            SessionRegistry.Lease a = registry.acquire("a");
            assertThat(a.session().transcript()).isNotEmpty();
            a.release();
            // b was closed: it starts over.
            SessionRegistry.Lease b = registry.acquire("b");
            assertThat(b.session().transcript()).isEmpty();
            b.release();
        }
        assertThat(cache.stats().sequences()).isZero();
    }

    @Test
    void busySessionsAreNeitherEvictedNorSharedBetweenTurns() {
        try (SessionRegistry registry = registry(1, Duration.ofMinutes(10))) {
            SessionRegistry.Lease a = registry.acquire("a");
            assertThatThrownBy(() -> registry.acquire("a")).isInstanceOfSatisfying(ApiException.class, e -> {
                assertThat(e.status()).isEqualTo(HttpStatus.CONFLICT);
                assertThat(e.code()).isEqualTo("session_busy");
            });
            assertThatThrownBy(() -> registry.acquire("b")).isInstanceOfSatisfying(ApiException.class, e -> {
                assertThat(e.status()).isEqualTo(HttpStatus.TOO_MANY_REQUESTS);
                assertThat(e.code()).isEqualTo("too_many_sessions");
            });
            a.release();
            a.release(); // idempotent
            registry.acquire("b").release();
            assertThat(registry.size()).isEqualTo(1);
        }
    }

    @Test
    void idleSessionsExpireAndFreeTheirSequences() throws InterruptedException {
        try (SessionRegistry registry = registry(4, Duration.ofMillis(50))) {
            turn(registry, "a");
            SessionRegistry.Lease busy = registry.acquire("b");
            assertThat(cache.stats().sequences()).isEqualTo(1);
            Thread.sleep(120);
            registry.expireIdle();
            assertThat(registry.size()).as("the busy session stays").isEqualTo(1);
            assertThat(cache.stats().sequences()).isZero();
            busy.release();
        }
    }

    @Test
    void invalidIdsAreRefused() {
        try (SessionRegistry registry = registry(4, Duration.ofMinutes(1))) {
            for (String id : new String[] {"", "has space", "x".repeat(129), "ünïcode"}) {
                assertThatThrownBy(() -> registry.acquire(id)).isInstanceOfSatisfying(ApiException.class,
                        e -> assertThat(e.param()).isEqualTo("session_id"));
            }
            assertThat(registry.size()).isZero();
        }
    }
}
