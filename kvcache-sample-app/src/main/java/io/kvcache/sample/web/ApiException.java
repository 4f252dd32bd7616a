package io.kvcache.sample.web;

import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;

/**
 * A request the app refuses, with everything OpenAI's error JSON needs. Immutable.
 */
public class ApiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final HttpStatus status;
    private final String type;
    private final @Nullable String param;
    private final @Nullable String code;

    public ApiException(HttpStatus status, String type, @Nullable String param, @Nullable String code, String message) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** 400 {@code invalid_request_error} naming the offending field. */
    public static ApiException invalid(@Nullable String param, String message) {
        return new ApiException(HttpStatus.BAD_REQUEST, ApiError.INVALID_REQUEST, param, null, message);
    }

    public HttpStatus status() {
        return status;
    }

    public String type() {
        return type;
    }

    public @Nullable String param() {
        return param;
    }

    public @Nullable String code() {
        return code;
    }
}
