package io.kvcache.sample.web;

import io.kvcache.sample.SampleProperties;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.ErrorResponse;
import org.springframework.web.HttpMediaTypeNotAcceptableException;
import org.springframework.web.HttpMediaTypeNotSupportedException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * Requests that match no handler method (wrong method or content type) fail before any controller
 * is chosen, so {@link ApiExceptionHandler} cannot see them. Under {@code /api/} and {@code /v1/}
 * this answers them in OpenAI's error JSON too; elsewhere (actuator, static files) it keeps
 * Spring's standard problem details. Thread-safe.
 */
@RestControllerAdvice
@Order(Ordered.LOWEST_PRECEDENCE)
class RoutingErrorHandler {
    private final SampleProperties properties;

    RoutingErrorHandler(SampleProperties properties) {
        this.properties = properties;
    }

    @ExceptionHandler({HttpMediaTypeNotSupportedException.class, HttpRequestMethodNotSupportedException.class,
            HttpMediaTypeNotAcceptableException.class})
    ResponseEntity<?> noMatchingHandler(Exception failure, HttpServletRequest request) {
        ErrorResponse standard = (ErrorResponse) failure;
        String path = request.getRequestURI().substring(request.getContextPath().length());
        if (!path.startsWith("/api/") && !path.startsWith("/v1/")) {
            return ResponseEntity.status(standard.getStatusCode()).headers(standard.getHeaders()).body(standard.getBody());
        }
        ApiError error = ApiError.of(failure, "prompt", properties.retryAfter());
        return ResponseEntity.status(standard.getStatusCode()).headers(standard.getHeaders())
                .contentType(MediaType.APPLICATION_JSON).body(error.response());
    }
}
