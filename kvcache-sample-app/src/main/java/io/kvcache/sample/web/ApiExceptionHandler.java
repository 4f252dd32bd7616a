package io.kvcache.sample.web;

import io.kvcache.sample.SampleProperties;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.async.AsyncRequestNotUsableException;

/**
 * Turns every failure of the app's API controllers into OpenAI's error JSON with the right status:
 * 400 for invalid requests (code {@code context_length_exceeded} for a prompt that does not fit),
 * 409 for a busy session, 429 with {@code Retry-After} when the cache cannot admit the request.
 * Thread-safe.
 */
@RestControllerAdvice(basePackages = "io.kvcache.sample")
class ApiExceptionHandler {
    private static final Logger log = LoggerFactory.getLogger(ApiExceptionHandler.class);

    private final SampleProperties properties;

    ApiExceptionHandler(SampleProperties properties) {
        this.properties = properties;
    }

    /** The client went away during a stream: nobody to answer, and the generation was already cancelled. */
    @ExceptionHandler(AsyncRequestNotUsableException.class)
    void clientGone(AsyncRequestNotUsableException failure, HttpServletRequest request) {
        log.debug("{} {}: the client disconnected ({})", request.getMethod(), request.getRequestURI(), failure.getMessage());
    }

    @ExceptionHandler(Exception.class)
    @Nullable ResponseEntity<ApiError.Response> handle(Exception failure, HttpServletRequest request,
            HttpServletResponse response) {
        if (response.isCommitted()) {
            // A stream already started: its error event was sent (or the client is gone).
            log.warn("{} {} failed after the response was committed", request.getMethod(), request.getRequestURI(),
                    failure);
            return null;
        }
        String promptParam = request.getRequestURI().endsWith("/chat/completions") ? "messages" : "prompt";
        ApiError error = ApiError.of(failure, promptParam, properties.retryAfter());
        if (error.status().is5xxServerError()) {
            log.error("{} {} failed", request.getMethod(), request.getRequestURI(), failure);
        } else {
            log.debug("{} {} refused: {}", request.getMethod(), request.getRequestURI(), failure.getMessage());
        }
        ResponseEntity.BodyBuilder answer = ResponseEntity.status(error.status()).contentType(MediaType.APPLICATION_JSON);
        if (error.retryAfter() != null) {
            answer.header(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, error.retryAfter().toSeconds())));
        }
        return answer.body(error.response());
    }
}
