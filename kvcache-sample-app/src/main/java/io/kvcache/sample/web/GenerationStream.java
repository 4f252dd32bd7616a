package io.kvcache.sample.web;

import io.kvcache.inference.GenerationEvent;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.TokenEvent;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.CacheControl;
import org.springframework.http.HttpHeaders;
import org.springframework.http.MediaType;
import org.springframework.http.server.ServerHttpResponse;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter;

/**
 * Streams one generation to an HTTP client as Server-Sent Events, with backpressure and
 * cancellation: it subscribes to the generation's {@link Flow.Publisher}, asks for one token at a
 * time and asks for the next only after the previous one was written, so a slow client slows the
 * generation instead of filling memory. When a write fails (the client went away) or the response
 * ends early (timeout, container error), it cancels the subscription, which stops decoding at the
 * next step and frees the cache sequence.
 *
 * <p>The HTTP status is decided only when the first token is ready: a failure before it (cache
 * full, prompt too long, ...) is thrown from {@link #open} so that the exception handler can answer
 * with a proper error status; a failure after it is sent as the format's error event.
 *
 * <p>Thread-safe: the generation's thread calls the subscriber methods, the container's threads
 * call the emitter callbacks.
 */
public final class GenerationStream implements Flow.Subscriber<GenerationEvent> {
    private static final Logger log = LoggerFactory.getLogger(GenerationStream.class);

    private final ResponseBodyEmitter emitter;
    private final StreamFormat format;
    private final Function<Throwable, ApiError> errors;
    private final Consumer<Outcome> onEnd;
    private final CompletableFuture<Void> started = new CompletableFuture<>();
    private final AtomicBoolean ended = new AtomicBoolean();
    private volatile Flow.@Nullable Subscription subscription;
    private volatile boolean cancelled;

    private GenerationStream(Duration timeout, StreamFormat format, Function<Throwable, ApiError> errors, Consumer<Outcome> onEnd) {
        this.emitter = new StreamEmitter(timeout.toMillis(), format.mediaType());
        this.format = format;
        this.errors = errors;
        this.onEnd = onEnd;
        emitter.onTimeout(() -> cancel("the stream timed out"));
        emitter.onError(e -> cancel("the connection failed: " + e));
        emitter.onCompletion(() -> cancel("the response completed"));
    }

    /**
     * Starts the generation and waits for its first token.
     *
     * @param publisher the generation (cold: it starts on subscription)
     * @param format how the API writes events
     * @param timeout longest time the whole response may take
     * @param errors maps a failure during streaming to the error event's content
     * @param onEnd runs once when the generation ends for any reason (result, failure, disconnect)
     * @return the streaming response body (status 200, the format's media type)
     * @throws RuntimeException the generation's failure when it fails before its first token
     */
    public static ResponseBodyEmitter open(Flow.Publisher<GenerationEvent> publisher, StreamFormat format,
            Duration timeout, Function<Throwable, ApiError> errors, Consumer<Outcome> onEnd) {
        GenerationStream stream = new GenerationStream(timeout, format, errors, onEnd);
        try {
            publisher.subscribe(stream);
            stream.started.get();
        } catch (InterruptedException e) {
            stream.cancel("the request thread was interrupted");
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the first token", e);
        } catch (ExecutionException e) {
            Throwable cause = Objects.requireNonNullElse(e.getCause(), e);
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException("the generation failed: " + cause, cause);
        } catch (RuntimeException | Error e) {
            stream.cancel("subscribing failed");
            throw e;
        }
        return stream.emitter;
    }

    /**
     * Sets the stream's headers itself, so that handlers can return it from a method whose
     * declared type is {@code Object} (Spring picks the emitter handler from the returned value;
     * a {@code ResponseEntity<?>} would hide it).
     */
    private static final class StreamEmitter extends ResponseBodyEmitter {
        private final MediaType mediaType;

        StreamEmitter(long timeoutMillis, MediaType mediaType) {
            super(timeoutMillis);
            this.mediaType = mediaType;
        }

        @Override
        protected void extendResponse(ServerHttpResponse response) {
            super.extendResponse(response);
            HttpHeaders headers = response.getHeaders();
            headers.setContentType(mediaType);
            headers.setCacheControl(CacheControl.noCache());
            // Tells reverse proxies such as nginx not to buffer the stream.
            headers.set("X-Accel-Buffering", "no");
        }
    }

    /** How a stream ended. */
    public enum Outcome {
        /** The result was written. */
        COMPLETED,
        /** The client went away or the response timed out; the generation was cancelled. */
        CANCELLED,
        /** The generation failed after streaming began; an error event was written. */
        FAILED,
        /** The generation failed before its first token; the client got an error status. */
        REFUSED
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (cancelled) {
            s.cancel();
            return;
        }
        s.request(1);
    }

    @Override
    public void onNext(GenerationEvent event) {
        String text = switch (event) {
            case TokenEvent token -> format.token(token);
            case GenerationResult result -> format.result(result);
        };
        if (!write(text)) {
            return;
        }
        if (event instanceof GenerationResult) {
            emitter.complete();
            end(Outcome.COMPLETED);
            started.complete(null);
        } else {
            started.complete(null);
            Flow.Subscription s = subscription;
            if (s != null) {
                s.request(1);
            }
        }
    }

    @Override
    public void onError(Throwable failure) {
        if (!started.isDone()) {
            end(Outcome.REFUSED);
            started.completeExceptionally(failure);
            return;
        }
        ApiError error = errors.apply(failure);
        if (error.status().is5xxServerError()) {
            log.error("generation failed after streaming began", failure);
        }
        if (write(format.error(error))) {
            emitter.complete();
        }
        end(Outcome.FAILED);
    }

    @Override
    public void onComplete() {
        // The result already completed the response; this is only reached without one.
        if (!ended.get()) {
            emitter.complete();
            end(Outcome.CANCELLED);
        }
        started.complete(null);
    }

    /** Writes one piece of the stream; on failure cancels the generation and returns false. */
    private boolean write(String text) {
        if (cancelled) {
            return false;
        }
        if (text.isEmpty()) {
            return true;
        }
        try {
            emitter.send(StreamFormat.utf8(text), format.mediaType());
            return true;
        } catch (IOException | IllegalStateException e) {
            // IOException: the client closed the connection. IllegalStateException: the response
            // was already completed (timeout, container error).
            cancel("writing failed: " + e);
            // End the response now. The container does not always report a closed connection, and
            // without this the request stays open until the stream timeout, although the
            // generation and its sequence are already gone.
            try {
                emitter.complete();
            } catch (RuntimeException alreadyCompleted) {
                log.debug("response already completed: {}", alreadyCompleted.toString());
            }
            started.complete(null);
            return false;
        }
    }

    private void cancel(String why) {
        if (!ended.get()) {
            log.debug("cancelling generation: {}", why);
        }
        cancelled = true;
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
        end(Outcome.CANCELLED);
    }

    private void end(Outcome outcome) {
        if (ended.compareAndSet(false, true)) {
            try {
                onEnd.accept(outcome);
            } catch (RuntimeException e) {
                log.warn("end-of-stream hook failed", e);
            }
        }
    }
}
