package io.kvcache.sample.web;

import io.kvcache.inference.GenerationEvent;
import io.kvcache.sample.SampleProperties;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter;

/**
 * Opens {@link GenerationStream}s with the app's settings and counts them: meter
 * {@code sample.streams} (tags {@code api}, {@code outcome}: completed, cancelled, failed, refused)
 * and gauge {@code sample.streams.active}. Thread-safe.
 */
@Component
public class GenerationStreams {
    private final SampleProperties properties;
    private final MeterRegistry meters;
    private final AtomicInteger active = new AtomicInteger();

    public GenerationStreams(SampleProperties properties, MeterRegistry meters) {
        this.properties = properties;
        this.meters = meters;
        meters.gauge("sample.streams.active", active);
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
        return GenerationStream.open(publisher, format, properties.streamTimeout(),
                failure -> ApiError.of(failure, promptParam, properties.retryAfter()),
                outcome -> {
                    active.decrementAndGet();
                    Counter.builder("sample.streams")
                            .description("Streamed generations by how they ended")
                            .tag("api", api)
                            .tag("outcome", outcome.name().toLowerCase(Locale.ROOT))
                            .register(meters)
                            .increment();
                    onEnd.run();
                });
    }
}
