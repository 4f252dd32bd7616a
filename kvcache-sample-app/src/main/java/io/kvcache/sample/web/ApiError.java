package io.kvcache.sample.web;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import io.kvcache.cache.CacheFullException;
import io.kvcache.cache.ContextLengthExceededException;
import io.kvcache.cache.SequencePreemptedException;
import io.kvcache.model.UnsupportedModelException;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;

/**
 * An error with its HTTP status and, for overload, how long to wait; its {@link #response()} is
 * OpenAI's error JSON, {@code {"error": {"message", "type", "param", "code"}}}. Used by every
 * endpoint of the app, both as a response body and as the data of an error event in a stream.
 * Immutable and thread-safe.
 *
 * @param body what the JSON says
 * @param status the HTTP status
 * @param retryAfter when to retry (a {@code Retry-After} header), or null
 */
public record ApiError(Body body, HttpStatus status, @Nullable Duration retryAfter) {

    public static final String INVALID_REQUEST = "invalid_request_error";
    public static final String OVERLOADED = "rate_limit_error";
    public static final String SERVER_ERROR = "server_error";
    public static final String CONTEXT_LENGTH_EXCEEDED = "context_length_exceeded";
    public static final String KV_CACHE_FULL = "kv_cache_full";

    /**
     * OpenAI's error object; {@code param} and {@code code} are written as null when absent, as
     * OpenAI does.
     */
    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record Body(@JsonProperty("message") String message, @JsonProperty("type") String type,
            @JsonProperty("param") @Nullable String param, @JsonProperty("code") @Nullable String code) {
    }

    /** The JSON body: {@code {"error": {...}}}. */
    public record Response(@JsonProperty("error") Body error) {
    }

    public Response response() {
        return new Response(body);
    }

    /**
     * The error to report for a failure; {@code promptParam} names the request field holding the
     * prompt ({@code prompt} or {@code messages}) for context-length errors.
     */
    public static ApiError of(Throwable failure, String promptParam, Duration retryAfter) {
        return switch (failure) {
            case ApiException e -> new ApiError(new Body(e.getMessage(), e.type(), e.param(), e.code()), e.status(),
                    e.status() == HttpStatus.TOO_MANY_REQUESTS ? retryAfter : null);
            case ContextLengthExceededException e -> new ApiError(new Body(e.getMessage(), INVALID_REQUEST, promptParam,
                    CONTEXT_LENGTH_EXCEEDED), HttpStatus.BAD_REQUEST, null);
            case CacheFullException e -> new ApiError(new Body(e.getMessage() + "; retry later", OVERLOADED, null,
                    KV_CACHE_FULL), HttpStatus.TOO_MANY_REQUESTS, retryAfter);
            // The engine recomputes a preempted sequence, and gives up only when the cache keeps
            // preempting it (thrashing): an overload like a full cache, not a server fault.
            case SequencePreemptedException e -> new ApiError(new Body(e.getMessage() + "; retry later", OVERLOADED,
                    null, KV_CACHE_FULL), HttpStatus.TOO_MANY_REQUESTS, retryAfter);
            case HttpMessageNotReadableException e -> new ApiError(new Body("the request body is not valid JSON for "
                    + "this endpoint: " + rootMessage(e) + "; send a JSON object as documented", INVALID_REQUEST, null,
                    null), HttpStatus.BAD_REQUEST, null);
            case HttpMediaTypeNotSupportedException e -> new ApiError(new Body(e.getMessage()
                    + "; send Content-Type: application/json", INVALID_REQUEST, null, null),
                    HttpStatus.UNSUPPORTED_MEDIA_TYPE, null);
            case HttpRequestMethodNotSupportedException e -> new ApiError(new Body(e.getMessage(), INVALID_REQUEST,
                    null, null), HttpStatus.METHOD_NOT_ALLOWED, null);
            case HttpMediaTypeNotAcceptableException e -> new ApiError(new Body(e.getMessage()
                    + "; accept application/json (and text/event-stream for streams)", INVALID_REQUEST, null, null),
                    HttpStatus.NOT_ACCEPTABLE, null);
            case UnsupportedModelException e -> new ApiError(new Body(e.getMessage(), SERVER_ERROR, null, null),
                    HttpStatus.INTERNAL_SERVER_ERROR, null);
            case IllegalArgumentException e -> new ApiError(new Body(e.getMessage() == null ? e.toString()
                    : e.getMessage(), INVALID_REQUEST, null, null), HttpStatus.BAD_REQUEST, null);
            default -> new ApiError(new Body("internal error: " + failure
                    + " (see the server log)", SERVER_ERROR, null, null), HttpStatus.INTERNAL_SERVER_ERROR, null);
        };
    }

    private static String rootMessage(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String m = root.getMessage();
        if (m == null) {
            return root.getClass().getSimpleName();
        }
        int newline = m.indexOf('\n');
        return newline < 0 ? m : m.substring(0, newline);
    }
}
