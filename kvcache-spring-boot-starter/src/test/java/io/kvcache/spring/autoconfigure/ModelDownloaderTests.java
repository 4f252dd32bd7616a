package io.kvcache.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.testing.SharedModels;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** Downloads from a local HTTP server: fresh, resumed after a cut connection, without Range support, digests. */
class ModelDownloaderTests {
    private static final String SHA = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
    private static final Pattern RANGE = Pattern.compile("bytes=(\\d+)-");

    @TempDir
    Path cacheDir;

    private byte[] model;
    private HttpServer server;
    private final List<@Nullable String> rangeHeaders = new CopyOnWriteArrayList<>();
    private final AtomicLong bytesServed = new AtomicLong();
    /** When positive, the next response stops after this many body bytes and closes the connection. */
    private volatile long cutAfter;
    private volatile boolean honourRange = true;

    @BeforeEach
    void start() throws IOException {
        model = Files.readAllBytes(SharedModels.model("stories260K.gguf"));
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/models/stories260K.gguf", this::serve);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void serve(HttpExchange exchange) throws IOException {
        String range = exchange.getRequestHeaders().getFirst("Range");
        rangeHeaders.add(range);
        int from = 0;
        Matcher m = range == null ? null : RANGE.matcher(range);
        if (honourRange && m != null && m.matches()) {
            from = Integer.parseInt(m.group(1));
            if (from >= model.length) {
                exchange.getResponseHeaders().set("Content-Range", "bytes */" + model.length);
                exchange.sendResponseHeaders(416, -1);
                exchange.close();
                return;
            }
            exchange.getResponseHeaders().set("Content-Range",
                    "bytes " + from + "-" + (model.length - 1) + "/" + model.length);
            exchange.sendResponseHeaders(206, model.length - from);
        } else {
            exchange.sendResponseHeaders(200, model.length);
        }
        long limit = cutAfter > 0 ? cutAfter : Long.MAX_VALUE;
        cutAfter = 0;
        try (OutputStream out = exchange.getResponseBody()) {
            int length = (int) Math.min(model.length - from, limit);
            out.write(model, from, length);
            out.flush();
            bytesServed.addAndGet(length);
            if (length < model.length - from) {
                // Simulates a dropped connection: the client sees fewer bytes than Content-Length.
                exchange.getHttpContext().getServer().stop(0);
            }
        }
    }

    private URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/models/stories260K.gguf");
    }

    private static Path obtain(URI url, Path dir, @Nullable String sha256) {
        try (ModelDownloader downloader = new ModelDownloader(Duration.ofSeconds(5), Duration.ofSeconds(5))) {
            return downloader.obtain(url, dir, sha256);
        }
    }

    @Test
    void downloadsOnceVerifiesAndReusesTheCachedFile() throws IOException {
        Path file = obtain(url(), cacheDir, SHA.toUpperCase());
        assertThat(file).isEqualTo(cacheDir.resolve("stories260K.gguf"));
        assertThat(Files.readAllBytes(file)).isEqualTo(model);
        assertThat(cacheDir.resolve("stories260K.gguf.part")).doesNotExist();
        assertThat(rangeHeaders).containsExactly((String) null);

        Path again = obtain(url(), cacheDir, SHA);
        assertThat(again).isEqualTo(file);
        assertThat(rangeHeaders).as("the second call is served from the cache directory").hasSize(1);
    }

    @Test
    void resumesAnExistingPartialFileWithARangeRequest() throws IOException {
        int have = 500_000;
        Files.write(cacheDir.resolve("stories260K.gguf.part"), java.util.Arrays.copyOf(model, have));
        Path file = obtain(url(), cacheDir, SHA);
        assertThat(rangeHeaders).containsExactly("bytes=" + have + "-");
        assertThat(bytesServed.get()).isEqualTo(model.length - have);
        assertThat(Files.readAllBytes(file)).isEqualTo(model);
    }

    @Test
    void aCutConnectionLeavesAPartThatTheNextStartResumes() throws IOException {
        cutAfter = 300_000;
        assertThatThrownBy(() -> obtain(url(), cacheDir, SHA))
                .isInstanceOf(KvCacheConfigurationException.class)
                .hasMessageContaining("Could not download the model from " + url())
                .satisfies(e -> assertThat(((KvCacheConfigurationException) e).action())
                        .contains("kvcache.model.url").contains("resumes"));
        Path part = cacheDir.resolve("stories260K.gguf.part");
        long kept = Files.size(part);
        assertThat(kept).isPositive().isLessThan(model.length);

        // The server was stopped to cut the connection; bring up a new one on another port.
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/models/stories260K.gguf", this::serve);
        server.start();
        Path file = obtain(url(), cacheDir, SHA);
        assertThat(rangeHeaders).last().isEqualTo("bytes=" + kept + "-");
        assertThat(Files.readAllBytes(file)).isEqualTo(model);
    }

    @Test
    void aServerWithoutRangeSupportRestartsTheFileFromZero() throws IOException {
        honourRange = false;
        Files.write(cacheDir.resolve("stories260K.gguf.part"), new byte[123_456]);
        Path file = obtain(url(), cacheDir, SHA);
        assertThat(rangeHeaders).containsExactly("bytes=123456-");
        assertThat(Files.readAllBytes(file)).isEqualTo(model);
    }

    @Test
    void aCompletePartIsMovedIntoPlaceWhenTheServerAnswers416() throws IOException {
        Files.write(cacheDir.resolve("stories260K.gguf.part"), model);
        Path file = obtain(url(), cacheDir, SHA);
        assertThat(bytesServed.get()).isZero();
        assertThat(Files.readAllBytes(file)).isEqualTo(model);
    }

    @Test
    void concurrentDownloadsOfTheSameFileTakeTurnsAndFetchItOnce() throws Exception {
        try (var pool = java.util.concurrent.Executors.newFixedThreadPool(4)) {
            List<java.util.concurrent.Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                results.add(pool.submit(() -> obtain(url(), cacheDir, SHA)));
            }
            for (var result : results) {
                assertThat(Files.readAllBytes(result.get())).isEqualTo(model);
            }
        }
        assertThat(rangeHeaders).hasSize(1);
        assertThat(bytesServed.get()).isEqualTo(model.length);
    }

    @Test
    void aDigestMismatchDeletesTheDownloadAndShowsBothDigests() {
        String wrong = "ab".repeat(32);
        assertThatThrownBy(() -> obtain(url(), cacheDir, wrong))
                .isInstanceOf(KvCacheConfigurationException.class)
                .hasMessageContaining("has SHA-256 " + SHA)
                .hasMessageContaining("kvcache.model.sha256 expects " + wrong)
                .satisfies(e -> assertThat(((KvCacheConfigurationException) e).action()).contains("kvcache.model.sha256"));
        assertThat(cacheDir.resolve("stories260K.gguf")).doesNotExist();
        assertThat(cacheDir.resolve("stories260K.gguf.part")).doesNotExist();
    }

    @Test
    void aCachedFileWithTheWrongDigestIsDownloadedAgain() throws IOException {
        Files.write(cacheDir.resolve("stories260K.gguf"), new byte[] {1, 2, 3});
        Path file = obtain(url(), cacheDir, SHA);
        assertThat(Files.readAllBytes(file)).isEqualTo(model);
        assertThat(rangeHeaders).hasSize(1);
    }

    @Test
    void httpErrorsAndBadUrlsAreExplained() {
        URI missing = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/models/other.gguf");
        assertThatThrownBy(() -> obtain(missing, cacheDir, null))
                .isInstanceOf(KvCacheConfigurationException.class).hasMessageContaining("HTTP status 404");
        assertThatThrownBy(() -> obtain(URI.create("ftp://host/m.gguf"), cacheDir, null))
                .hasMessageContaining("not an http or https address");
        assertThatThrownBy(() -> obtain(URI.create("http://host/models/"), cacheDir, null))
                .hasMessageContaining("does not end with a file name");
        assertThatThrownBy(() -> obtain(url(), cacheDir, "xyz"))
                .hasMessageContaining("is not a SHA-256 digest");
    }

    @Test
    void theAutoConfigurationLoadsADownloadedModel() {
        new ApplicationContextRunner()
                .withConfiguration(KvCacheAutoConfigurationTests.ALL)
                .withPropertyValues("kvcache.threads=1", "kvcache.model.url=" + url(),
                        "kvcache.model.cache-dir=" + cacheDir, "kvcache.model.sha256=" + SHA)
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context.getBean(InferenceEngine.class).config().layers()).isEqualTo(5);
                    assertThat(cacheDir.resolve("stories260K.gguf")).exists();
                });
    }
}
