package io.kvcache.sample.web;

import io.kvcache.inference.GenerationEvent;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.TokenEvent;
import io.kvcache.sample.SampleProperties;
import io.kvcache.spring.actuate.KvCacheMeterBinder;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter;

/**
 * Opens {@link GenerationStream}s with the app's settings and counts them: meter
 * {@code sample.streams} (tags {@code api}; {@code response}: {@code stream} for Server-Sent
 * Events, {@code json} for a non-streaming {@link JsonResponseFormat}; {@code outcome}: completed,
 * cancelled, failed, refused) and gauge {@code sample.streams.active}; feeds finished generations
 * to the starter's {@code kvcache.generation.*} meters. Thread-safe.
 */
@Component
public class GenerationStreams {
    private final SampleProperties properties;
    private final MeterRegistry meters;
    private final @Nullable KvCacheMeterBinder generationMeters;
    private final AtomicInteger active = new AtomicInteger();

    public GenerationStreams(SampleProperties properties, MeterRegistry meters,
            ObjectProvider<KvCacheMeterBinder> generationMeters) {
        this.properties = properties;
        this.meters = meters;
        this.generationMeters = generationMeters.getIfAvailable();
        meters.gauge("sample.streams.active", active);
    }

    /**
     * A consumer for one generation's events (every token, then the result) that feeds the starter's
     * generation meters ({@code kvcache.generation.*}): token counts, time to first token, and the
     * real latency between tokens. Does nothing without Micrometer. Not thread-safe (one generation).
     */
    public Consumer<GenerationEvent> meter() {
        return generationMeters == null ? event -> { } : generationMeters.tokenTimer();
    }

    /** How often a {@link JsonResponseFormat} probes the connection ({@code sample.disconnect-probe-interval}). */
    public Duration disconnectProbeInterval() {
        return properties.disconnectProbeInterval();
    }

    /**
     * Streams a generation; see {@link GenerationStream#open}.
     *
     * @param api tag value naming the endpoint
     * @param promptParam the request field holding the prompt, named in context-length errors
     * @param onEnd runs once when the stream ends, however it ends
     */
    public ResponseBodyEmitter open(String api, Flow.Publisher<GenerationEvent> publisher, StreamFormat format,
            String promptParam, Runnable onEnd) {
        active.incrementAndGet();
        Consumer<GenerationEvent> meter = meter();
        StreamFormat recording = new StreamFormat() {
            @Override
            public String token(TokenEvent token) {
                meter.accept(token);
                return format.token(token);
            }

            @Override
            public String result(GenerationResult result) {
                meter.accept(result);
                return format.result(result);
            }

            @Override
            public String error(ApiError error) {
                return format.error(error);
            }

            @Override
            public MediaType mediaType() {
                return format.mediaType();
            }
        };
        return GenerationStream.open(publisher, recording, properties.streamTimeout(),
                failure -> ApiError.of(failure, promptParam, properties.retryAfter()),
                outcome -> {
                    active.decrementAndGet();
                    Counter.builder("sample.streams")
                            .description("Generations served over HTTP by how they ended")
                            .tag("api", api)
                            .tag("response", MediaType.APPLICATION_JSON.equals(format.mediaType()) ? "json" : "stream")
                            .tag("outcome", outcome.name().toLowerCase(Locale.ROOT))
                            .register(meters)
                            .increment();
                    onEnd.run();
                });
    }
}
