package io.kvcache.sample.web;

import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.TokenEvent;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;

/**
 * How one API writes a generation, usually as Server-Sent Events: the text for each token, for the
 * result and for a failure after streaming began, and the response's media type. An empty string
 * sends nothing. An instance serves one stream and is called by one thread at a time, so it may
 * keep state (e.g. whether the first chunk went out); not thread-safe.
 */
public interface StreamFormat {
    MediaType EVENT_STREAM = new MediaType("text", "event-stream", StandardCharsets.UTF_8);

    String token(TokenEvent token);

    String result(GenerationResult result);

    String error(ApiError error);

    /** The response's content type: {@code text/event-stream} unless the format says otherwise. */
    default MediaType mediaType() {
        return EVENT_STREAM;
    }

    /** One SSE event: an optional {@code event:} line, the data (one {@code data:} line per line), a blank line. */
    static String event(@Nullable String name, String data) {
        StringBuilder sb = new StringBuilder(data.length() + 32);
        if (name != null) {
            sb.append("event: ").append(name).append('\n');
        }
        for (String line : data.split("\r\n|\r|\n", -1)) {
            sb.append("data: ").append(line).append('\n');
        }
        return sb.append('\n').toString();
    }

    static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
