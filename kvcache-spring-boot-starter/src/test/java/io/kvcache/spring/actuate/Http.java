package io.kvcache.spring.actuate;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A tiny HTTP + JSON client for the running test server. */
final class Http {
    private static final HttpClient CLIENT = HttpClient.newHttpClient();
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private final int port;

    Http(int port) {
        this.port = port;
    }

    HttpResponse<String> send(String method, String path) {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        try {
            return CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** GETs a path that must answer 200 and parses its JSON body. */
    JsonNode json(String path) {
        HttpResponse<String> response = send("GET", path);
        if (response.statusCode() != 200) {
            throw new AssertionError("GET " + path + " answered " + response.statusCode() + ": " + response.body());
        }
        return JSON.readTree(response.body());
    }

    JsonNode parse(String body) {
        return JSON.readTree(body);
    }

    /** The VALUE measurement of a metric from /actuator/metrics. */
    double metric(String name, String... tags) {
        StringBuilder path = new StringBuilder("/actuator/metrics/" + name);
        for (int i = 0; i < tags.length; i++) {
            path.append(i == 0 ? '?' : '&').append("tag=").append(tags[i]);
        }
        for (JsonNode m : json(path.toString()).get("measurements")) {
            String statistic = m.get("statistic").asString();
            if (statistic.equals("VALUE") || statistic.equals("COUNT")) {
                return m.get("value").asDouble();
            }
        }
        throw new AssertionError("metric " + name + " has no VALUE or COUNT");
    }
}
