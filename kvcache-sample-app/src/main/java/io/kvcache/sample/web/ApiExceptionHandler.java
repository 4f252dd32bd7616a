package io.kvcache.sample.web;

import io.kvcache.sample.SampleProperties;
import jakarta.servlet.http.HttpServletRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

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

    @ExceptionHandler(Exception.class)
    ResponseEntity<ApiError.Response> handle(Exception failure, HttpServletRequest request) {
        String promptParam = request.getRequestURI().endsWith("/chat/completions") ? "messages" : "prompt";
        ApiError error = ApiError.of(failure, promptParam, properties.retryAfter());
        if (error.status().is5xxServerError()) {
            log.error("{} {} failed", request.getMethod(), request.getRequestURI(), failure);
        } else {
            log.debug("{} {} refused: {}", request.getMethod(), request.getRequestURI(), failure.getMessage());
        }
        ResponseEntity.BodyBuilder response = ResponseEntity.status(error.status()).contentType(MediaType.APPLICATION_JSON);
        if (error.retryAfter() != null) {
            response.header(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, error.retryAfter().toSeconds())));
        }
        return response.body(error.response());
    }
}
