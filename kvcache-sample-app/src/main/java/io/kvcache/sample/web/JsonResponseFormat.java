package io.kvcache.sample.web;

import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.TokenEvent;
import java.time.Duration;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.springframework.http.MediaType;
import tools.jackson.databind.json.JsonMapper;

/**
 * A non-streaming response written through a {@link GenerationStream}: one JSON document, the
 * result's body, preceded by a space every {@code probeInterval} while tokens are generated.
 *
 * <p>Why the spaces: a servlet container learns that a client went away only when it writes to
 * the connection (Tomcat does not report a closed connection on an idle request), so a response
 * that wrote nothing until the end would keep decoding up to {@code max_tokens} for nobody.
 * Leading whitespace is valid JSON, and every JSON parser skips it. The price is the one every
 * streamed response pays: the status (200) is sent with the first token, so a failure after it
 * is the error document ({@code {"error": ...}}, as {@link ApiError#response()}) with status 200;
 * failures before the first token (prompt too long, cache full, ...) keep their own status.
 *
 * <p>Not thread-safe; one instance per response (see {@link StreamFormat}).
 */
public final class JsonResponseFormat<T> implements StreamFormat {
    private final JsonMapper json;
    private final Function<GenerationResult, T> body;
    private final long probeNanos;
    private final LongSupplier clock;
    private long lastWrite;
    private boolean started;

    /**
     * @param body turns the result into the response document
     * @param probeInterval least time between two probing spaces
     */
    public JsonResponseFormat(JsonMapper json, Function<GenerationResult, T> body, Duration probeInterval) {
        this(json, body, probeInterval, System::nanoTime);
    }

    JsonResponseFormat(JsonMapper json, Function<GenerationResult, T> body, Duration probeInterval, LongSupplier clock) {
        this.json = json;
        this.body = body;
        this.probeNanos = probeInterval.toNanos();
        this.clock = clock;
    }

    @Override
    public MediaType mediaType() {
        return MediaType.APPLICATION_JSON;
    }

    @Override
    public String token(TokenEvent token) {
        // The first token's space sends the status and headers; later ones probe the connection.
        long now = clock.getAsLong();
        if (started && now - lastWrite < probeNanos) {
            return "";
        }
        started = true;
        lastWrite = now;
        return " ";
    }

    @Override
    public String result(GenerationResult result) {
        return json.writeValueAsString(body.apply(result));
    }

    @Override
    public String error(ApiError error) {
        return json.writeValueAsString(error.response());
    }
}
