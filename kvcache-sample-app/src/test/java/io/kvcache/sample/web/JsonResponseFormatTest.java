package io.kvcache.sample.web;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.StopReason;
import io.kvcache.inference.TokenEvent;
import io.kvcache.inference.Usage;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import tools.jackson.databind.json.JsonMapper;

class JsonResponseFormatTest {
    static final JsonMapper JSON = JsonMapper.builder().build();

    long now;

    JsonResponseFormat<Map<String, String>> format() {
        return new JsonResponseFormat<>(JSON, r -> Map.of("text", r.text()), Duration.ofMillis(100), () -> now);
    }

    static TokenEvent token(int index) {
        return new TokenEvent(index, 7, "x", -0.5);
    }

    @Test
    void writesASpaceForTheFirstTokenThenAtMostOnePerInterval() {
        JsonResponseFormat<Map<String, String>> f = format();
        StringBuilder written = new StringBuilder();
        now = 0;
        written.append(f.token(token(0)));
        assertThat(written.toString()).isEqualTo(" ");
        for (int i = 1; i <= 10; i++) {
            now = i * 20_000_000L; // 20 ms apart: 200 ms in all
            written.append(f.token(token(i)));
        }
        // The first token, then 100 ms and 200 ms later.
        assertThat(written.toString()).isEqualTo("   ");
        assertThat(f.mediaType()).isEqualTo(MediaType.APPLICATION_JSON);
    }

    @Test
    void theResultAndErrorsAreWholeJsonDocumentsThatParseAfterTheSpaces() {
        JsonResponseFormat<Map<String, String>> f = format();
        GenerationResult result = new GenerationResult("hello \"world\"", new int[] {1, 2}, StopReason.MAX_TOKENS,
                new Usage(3, 0, 2, Duration.ZERO, 100.0));
        String body = f.token(token(0)) + f.result(result);
        assertThat(JSON.readTree(body).get("text").asString()).isEqualTo("hello \"world\"");

        ApiError error = new ApiError(new ApiError.Body("the cache is full", ApiError.OVERLOADED, null,
                ApiError.KV_CACHE_FULL), HttpStatus.TOO_MANY_REQUESTS, null);
        String failed = format().token(token(0)) + format().error(error);
        assertThat(JSON.readTree(failed).get("error").get("code").asString()).isEqualTo("kv_cache_full");
    }
}
