package io.kvcache.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.management.HotSpotDiagnosticMXBean;
import io.kvcache.inference.GenerationResult;
import io.kvcache.sample.TestHttp.SseEvent;
import io.kvcache.sample.TestHttp.SseStream;
import io.kvcache.testing.SharedModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Load with faults: 32 concurrent greedy streaming clients ({@code /api/generate} and
 * {@code /v1/completions}) send requests back to back for 20 seconds
 * ({@code -Dkvcache.test.load.seconds=N}); a third of the requests disconnect after a random number
 * of events. Every
 * completed output equals the same request run alone, every stream's tokens are a prefix of it, and
 * afterwards no sequence, block, stream or generation thread is left. Seed:
 * {@code -Dkvcache.test.seed=N}.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"kvcache.cache.max-sequences=64"})
class LoadWithFaultsTest {
    static final int CLIENTS = 32;
    static final int MAX_TOKENS = 60;

    @LocalServerPort
    int port;

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("kvcache.model.path", () -> SharedModels.model("stories260K.gguf").toString());
    }

    /** How a client's stream ended: the tokens (ids, or text pieces for OpenAI) it received. */
    record ClientRun(int client, String prompt, boolean openAi, int disconnectAfter, List<Integer> ids, String text,
            boolean completed, @Nullable String refusedWith) {
        ClientRun(int client, String prompt, boolean openAi, int disconnectAfter, List<Integer> ids, String text,
                boolean completed) {
            this(client, prompt, openAi, disconnectAfter, ids, text, completed, null);
        }
    }

    @Test
    @Timeout(120)
    void concurrentClientsWithDisconnectsGetExactOutputsAndLeaveNothingBehind() throws Exception {
        long seed = Long.getLong("kvcache.test.seed", System.nanoTime());
        System.out.println("LoadWithFaultsTest seed: " + seed + " (-Dkvcache.test.seed=" + seed + ")");
        Map<String, GenerationResult> alone = MemoryPressure.alone(MAX_TOKENS);
        TestHttp http = new TestHttp(port);

        double idleRequests = activeRequests(http); // the metrics request itself
        // A long generation held open, so the thread check below is shown to see generation threads.
        try (SseStream holder = http.stream("/api/generate", "{\"prompt\": \"Once\", \"max_tokens\": 2000, "
                + "\"temperature\": 0}")) {
            assertThat(holder.next()).isNotNull();
            assertThat(generationThreads()).as("a running generation's thread is visible").isPositive();
            assertThat(activeRequests(http)).as("an open stream is an active request").isEqualTo(idleRequests + 1);
        }

        long seconds = Long.getLong("kvcache.test.load.seconds", 20);
        long start = System.nanoTime();
        long stopAt = start + TimeUnit.SECONDS.toNanos(seconds);
        ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
        List<ClientRun> runs = new ArrayList<>();
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<List<ClientRun>>> futures = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                int client = i;
                Random clientRandom = new Random(seed + client);
                futures.add(pool.submit(() -> {
                    go.await();
                    List<ClientRun> mine = new ArrayList<>();
                    // Each client sends one request after another until the time is up; a third of
                    // the requests disconnect after a random number of events.
                    do {
                        String prompt = MemoryPressure.PROMPTS.get(clientRandom.nextInt(MemoryPressure.PROMPTS.size()));
                        int disconnectAfter = clientRandom.nextInt(3) == 0 ? 1 + clientRandom.nextInt(MAX_TOKENS - 10) : -1;
                        mine.add(run(http, client, prompt, clientRandom.nextBoolean(), disconnectAfter));
                    } while (System.nanoTime() < stopAt);
                    return mine;
                }));
            }
            go.countDown();
            long deadline = stopAt + TimeUnit.SECONDS.toNanos(30);
            for (Future<List<ClientRun>> f : futures) {
                runs.addAll(f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            }
        } finally {
            pool.shutdownNow();
        }
        long ms = (System.nanoTime() - start) / 1_000_000;

        int completed = 0;
        int disconnected = 0;
        Map<String, Integer> refused = new java.util.TreeMap<>();
        for (ClientRun r : runs) {
            if (r.refusedWith() != null) {
                refused.merge(r.refusedWith(), 1, Integer::sum);
                continue;
            }
            GenerationResult reference = alone.get(r.prompt());
            if (r.openAi()) {
                assertThat(reference.text()).as("client %d (%s)", r.client(), r.prompt()).startsWith(r.text());
                if (r.completed()) {
                    assertThat(r.text()).as("client %d", r.client()).isEqualTo(reference.text());
                }
            } else {
                List<Integer> ids = IntStream.of(reference.tokens()).boxed().toList();
                assertThat(ids.subList(0, r.ids().size())).as("client %d (%s)", r.client(), r.prompt())
                        .isEqualTo(r.ids());
                if (r.completed()) {
                    assertThat(r.ids()).as("client %d", r.client()).isEqualTo(ids);
                }
            }
            if (r.disconnectAfter() > 0) {
                disconnected++;
            } else {
                assertThat(r.completed()).as("client %d did not disconnect, so it completes", r.client()).isTrue();
                completed++;
            }
        }
        System.out.printf("LoadWithFaultsTest: %d clients, %d requests in %d ms: %d completed, %d disconnected, "
                + "refused %s%n", CLIENTS, runs.size(), ms, completed, disconnected, refused);
        assertThat(completed).as("most requests complete").isGreaterThan(runs.size() / 2);
        assertThat(runs.size()).as("every client sent at least one request").isGreaterThanOrEqualTo(CLIENTS);
        assertThat(disconnected).as("some clients disconnected").isPositive();

        long drainStart = System.nanoTime();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            JsonNode stats = http.getJson("/actuator/kvcache").get("stats");
            assertThat(stats.get("sequences").asInt()).as("sequences").isZero();
            assertThat(stats.get("blocksUsed").asInt()).as("blocks used (prefix-cached ones aside)").isZero();
            assertThat(http.getJson("/actuator/metrics/sample.streams.active").get("measurements").get(0)
                    .get("value").asDouble()).as("active streams").isZero();
            assertThat(generationThreads()).as("kvcache-generation threads").isZero();
            assertThat(activeRequests(http)).as("HTTP requests still open").isEqualTo(idleRequests);
        });
        System.out.printf("LoadWithFaultsTest: everything released %d ms after the last client finished%n",
                (System.nanoTime() - drainStart) / 1_000_000);
    }

    static ClientRun run(TestHttp http, int client, String prompt, boolean openAi, int disconnectAfter) {
        String quoted = TestHttp.JSON.writeValueAsString(prompt);
        String path = openAi ? "/v1/completions" : "/api/generate";
        String body = "{\"prompt\": " + quoted + ", \"max_tokens\": " + MAX_TOKENS + ", \"temperature\": 0"
                + (openAi ? ", \"stream\": true}" : "}");
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        try (SseStream s = http.stream(path, body)) {
            if (s.status() == 429) {
                // Over capacity: a disconnected client's generation holds its slot until the server's
                // next write to it fails, so a client that reconnects at once can find every slot taken.
                assertThat(s.response.headers().firstValue("Retry-After")).as("client %d", client).isPresent();
                String code = TestHttp.JSON.readTree(s.rest()).get("error").get("code").asString();
                assertThat(code).as("client %d", client).isIn("too_many_requests", "kv_cache_full");
                sleep(Duration.ofMillis(200));
                return new ClientRun(client, prompt, openAi, disconnectAfter, ids, "", false, code);
            }
            assertThat(s.status()).as("client %d", client).isEqualTo(200);
            int events = 0;
            for (SseEvent e = s.next(); e != null; e = s.next()) {
                if (events++ == disconnectAfter) {
                    // Closing the body mid-stream drops the connection: the server sees a failed write.
                    return new ClientRun(client, prompt, openAi, disconnectAfter, ids, text.toString(), false);
                }
                if (openAi) {
                    if (e.data().equals("[DONE]")) {
                        return new ClientRun(client, prompt, openAi, disconnectAfter, ids, text.toString(), true);
                    }
                    JsonNode choice = e.json().get("choices").get(0);
                    assertThat(choice).as("client %d: %s", client, e.data()).isNotNull();
                    text.append(choice.get("text").asString());
                } else if (e.name() == null) {
                    ids.add(e.json().get("id").asInt());
                } else {
                    assertThat(e.name()).as("client %d: %s", client, e.data()).isEqualTo("done");
                    return new ClientRun(client, prompt, openAi, disconnectAfter, ids, text.toString(), true);
                }
            }
            throw new AssertionError("client " + client + ": the stream ended without done after " + events + " events");
        }
    }

    /**
     * HTTP requests the server has not finished, this one included (a stream whose async request is
     * never completed holds its connection until {@code sample.stream-timeout}).
     */
    static double activeRequests(TestHttp http) {
        var r = http.get("/actuator/metrics/http.server.requests.active");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode metric = TestHttp.JSON.readTree(r.body());
        for (JsonNode m : metric.get("measurements")) {
            if (m.get("statistic").asString().equals("ACTIVE_TASKS")) {
                return m.get("value").asDouble();
            }
        }
        throw new AssertionError("no ACTIVE_TASKS in " + r.body());
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * Live threads named {@code kvcache-generation}. Generations run on virtual threads, which
     * {@code Thread.getAllStackTraces()} does not list; the JSON thread dump does.
     */
    static long generationThreads() {
        try {
            Path file = Files.createTempFile("kvcache-threads", ".json");
            Files.delete(file);
            try {
                ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                        .dumpThreads(file.toString(), HotSpotDiagnosticMXBean.ThreadDumpFormat.JSON);
                JsonNode dump = TestHttp.JSON.readTree(Files.readString(file));
                return dump.findValues("name").stream().filter(n -> n.asString().startsWith("kvcache-generation")).count();
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
