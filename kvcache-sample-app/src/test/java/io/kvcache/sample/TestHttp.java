package io.kvcache.sample;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A small HTTP client for the tests: JSON requests and an incremental Server-Sent Events reader. */
final class TestHttp {
    static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final String base;

    TestHttp(int port) {
        this.base = "http://localhost:" + port;
    }

    String base() {
        return base;
    }

    HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET().build());
    }

    JsonNode getJson(String path) {
        HttpResponse<String> r = get(path);
        if (r.statusCode() != 200) {
            throw new AssertionError("GET " + path + " -> " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /** The first measurement of an actuator metric ({@code name?tag=k:v&...}); 0 when it is not registered yet. */
    double metric(String nameAndTags) {
        HttpResponse<String> r = get("/actuator/metrics/" + nameAndTags);
        if (r.statusCode() == 404) {
            return 0;
        }
        if (r.statusCode() != 200) {
            throw new AssertionError("GET /actuator/metrics/" + nameAndTags + " -> " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body()).get("measurements").get(0).get("value").asDouble();
    }

    /** The cache's open sequences, from the {@code kvcache} actuator endpoint. */
    int sequences() {
        return getJson("/actuator/kvcache").get("stats").get("sequences").asInt();
    }

    HttpResponse<String> post(String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(base + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json))
                .build());
    }

    HttpResponse<String> send(HttpRequest request) {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Opens a streaming POST; read events with {@link SseStream#next()}, close to disconnect. */
    SseStream stream(String path, String json) {
        try {
            HttpResponse<InputStream> r = client.send(HttpRequest.newBuilder(URI.create(base + path))
                    .header("Content-Type", "application/json")
                    .header("Accept", "text/event-stream")
                    .POST(HttpRequest.BodyPublishers.ofString(json))
                    .build(), HttpResponse.BodyHandlers.ofInputStream());
            return new SseStream(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** One Server-Sent Event: its {@code event:} name (null for the default) and its data. */
    record SseEvent(@Nullable String name, String data) {
        JsonNode json() {
            return JSON.readTree(data);
        }
    }

    /** Reads a response's events as they arrive. */
    static final class SseStream implements AutoCloseable {
        final HttpResponse<InputStream> response;
        private final BufferedReader reader;

        SseStream(HttpResponse<InputStream> response) {
            this.response = response;
            this.reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8));
        }

        int status() {
            return response.statusCode();
        }

        /** The next event, or null at the end of the stream. */
        @Nullable SseEvent next() {
            try {
                String name = null;
                StringBuilder data = null;
                String line;
                while ((line = reader.readLine()) != null) {
                    if (line.isEmpty()) {
                        if (data != null) {
                            return new SseEvent(name, data.toString());
                        }
                        name = null;
                        continue;
                    }
                    if (line.startsWith("event:")) {
                        name = line.substring(6).strip();
                    } else if (line.startsWith("data:")) {
                        String value = line.substring(5);
                        value = value.startsWith(" ") ? value.substring(1) : value;
                        data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                    } else if (!line.startsWith(":")) {
                        throw new AssertionError("not an SSE line: " + line);
                    }
                }
                if (data != null) {
                    throw new AssertionError("stream ended inside an event (no blank line after it): " + data);
                }
                return null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Every remaining event. */
        List<SseEvent> all() {
            List<SseEvent> events = new ArrayList<>();
            for (SseEvent e = next(); e != null; e = next()) {
                events.add(e);
            }
            return events;
        }

        /** The whole remaining body as text (for error responses). */
        String rest() {
            try {
                return new String(response.body().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() {
            try {
                reader.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
