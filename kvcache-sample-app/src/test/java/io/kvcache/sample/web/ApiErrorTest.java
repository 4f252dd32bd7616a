package io.kvcache.sample.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.cache.SequencePreemptedException;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;

class ApiErrorTest {
    @Test
    void aSequencePreemptedTooOftenIsAnOverloadNotAServerError() {
        ApiError error = ApiError.of(new SequencePreemptedException(8), "prompt", Duration.ofSeconds(2));
        assertThat(error.status()).isEqualTo(HttpStatus.TOO_MANY_REQUESTS);
        assertThat(error.retryAfter()).isEqualTo(Duration.ofSeconds(2));
        assertThat(error.body().type()).isEqualTo(ApiError.OVERLOADED);
        assertThat(error.body().code()).isEqualTo(ApiError.KV_CACHE_FULL);
        assertThat(error.body().message()).contains("sequence 8 was preempted", "memory-budget", "retry later");
    }

    @Test
    void anUnexpectedFailureStaysA500() {
        ApiError error = ApiError.of(new IllegalStateException("boom"), "prompt", Duration.ofSeconds(2));
        assertThat(error.status()).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
        assertThat(error.retryAfter()).isNull();
        assertThat(error.body().code()).isNull();
    }
}
