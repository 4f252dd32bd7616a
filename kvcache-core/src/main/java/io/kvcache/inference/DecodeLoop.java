package io.kvcache.inference;

import io.kvcache.cache.KvSequence;
import io.kvcache.sampling.Sampler;
import io.kvcache.tokenizer.TokenDecoder;
import io.kvcache.tokenizer.Tokenizer;
import java.time.Duration;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * One generation as a pull loop: each {@link #next()} runs at most one forward pass and returns the
 * next event; after the {@link GenerationResult} it returns null. The blocking stream, the
 * callback and the publisher all drive this one loop, so they behave the same.
 *
 * <p>Used by one thread at a time; {@link #cancel()} may be called from any thread. The sequence
 * is handed back through {@code onRelease} exactly once: when the result is decided, on an error,
 * or on {@link #abandon()}.
 */
final class DecodeLoop {
    private final InferenceEngine engine;
    private final Tokenizer tokenizer;
    private final KvSequence sequence;
    private final int promptTokens;
    private final int cachedPromptTokens;
    private final GenerationRequest request;
    private final Sampler sampler;
    private final TokenDecoder decoder;
    private final StopStringMatcher stops;
    private final long startNanos;
    private final ReleaseHook onRelease;

    private volatile boolean cancelled;
    private int @Nullable [] toForward;
    /** Reused every step: the steady decode path allocates no logits and no token array. */
    private final float[] logits;
    private final int[] nextToken = new int[1];
    private @Nullable GenerationResult decided;
    private boolean done;
    private boolean released;
    private int[] generated = new int[16];
    private int count;
    private final StringBuilder text = new StringBuilder();
    private long firstTokenNanos = -1;

    DecodeLoop(InferenceEngine engine, KvSequence sequence, int[] fullPrompt, int cachedPromptTokens,
            GenerationRequest request, long startNanos, ReleaseHook onRelease) {
        this.engine = engine;
        this.tokenizer = engine.tokenizer();
        this.sequence = sequence;
        this.promptTokens = fullPrompt.length;
        this.cachedPromptTokens = cachedPromptTokens;
        this.request = request;
        this.sampler = Sampler.create(request.sampling());
        for (int t : fullPrompt) {
            sampler.accept(t);
        }
        this.decoder = tokenizer.newDecoder();
        this.stops = new StopStringMatcher(request.stopStrings());
        this.startNanos = startNanos;
        this.onRelease = onRelease;
        this.toForward = Arrays.copyOfRange(fullPrompt, cachedPromptTokens, fullPrompt.length);
        this.logits = new float[engine.config().vocabularySize()];
    }

    /** Hands the sequence back when the loop is done with it. */
    @FunctionalInterface
    interface ReleaseHook {
        void released(KvSequence sequence, int[] generatedTokens);
    }

    void cancel() {
        cancelled = true;
    }

    boolean isCancelled() {
        return cancelled;
    }

    /** The next event, or null once the result has been returned. */
    @Nullable GenerationEvent next() {
        if (done) {
            return null;
        }
        if (decided != null) {
            done = true;
            return decided;
        }
        try {
            return step();
        } catch (RuntimeException | Error e) {
            done = true;
            release();
            throw e;
        }
    }

    /** Ends the loop without a result (the consumer went away) and releases the sequence. */
    void abandon() {
        cancelled = true;
        done = true;
        release();
    }

    private GenerationEvent step() {
        int[] feed = toForward;
        if (cancelled || feed == null) {
            return finish(StopReason.CANCELLED);
        }
        engine.forward(sequence, feed, logits);
        toForward = null;
        if (cancelled) {
            return finish(StopReason.CANCELLED);
        }
        int token = sampler.sample(logits);
        double logProbability = sampler.lastLogProbability();
        if (tokenizer.isEndOfGeneration(token)) {
            String tail = stops.accept(decoder.flush()) + stops.flush();
            if (tail.isEmpty()) {
                return finish(StopReason.END_OF_GENERATION);
            }
            text.append(tail);
            decide(StopReason.END_OF_GENERATION);
            return new TokenEvent(count, token, tail, logProbability);
        }
        sampler.accept(token);
        if (firstTokenNanos < 0) {
            firstTokenNanos = System.nanoTime();
        }
        append(token);
        String piece = tokenizer.isSpecial(token) && !request.renderSpecialTokens() ? "" : decoder.append(token);
        String out = stops.accept(piece);
        StopReason stop = null;
        if (stops.matched()) {
            stop = StopReason.STOP_STRING;
        } else if (count >= request.maxTokens()) {
            stop = StopReason.MAX_TOKENS;
        } else if (sequence.length() >= sequence.capacity()) {
            stop = StopReason.CONTEXT_FULL;
        }
        if (stop != null && stop != StopReason.STOP_STRING) {
            out += stops.accept(decoder.flush()) + stops.flush();
        }
        text.append(out);
        if (stop != null) {
            decide(stop);
        } else {
            nextToken[0] = token;
            toForward = nextToken;
        }
        // The event and its text are what streaming hands out: the only allocations of a steady step
        // besides the sampler's and the decoder's.
        return new TokenEvent(count - 1, token, out, logProbability);
    }

    private GenerationResult finish(StopReason reason) {
        decide(reason);
        done = true;
        return decided;
    }

    private void decide(StopReason reason) {
        long now = System.nanoTime();
        Duration ttft = Duration.ofNanos((firstTokenNanos < 0 ? now : firstTokenNanos) - startNanos);
        double decodeSeconds = firstTokenNanos < 0 ? 0 : (now - firstTokenNanos) / 1e9;
        double tokensPerSecond = count > 1 && decodeSeconds > 0 ? (count - 1) / decodeSeconds : 0;
        decided = new GenerationResult(text.toString(), Arrays.copyOf(generated, count), reason,
                new Usage(promptTokens, cachedPromptTokens, count, ttft, tokensPerSecond));
        release();
    }

    private void release() {
        if (!released) {
            released = true;
            engine.decodingEnded(sequence);
            onRelease.released(sequence, Arrays.copyOf(generated, count));
        }
    }

    private void append(int token) {
        if (count == generated.length) {
            generated = Arrays.copyOf(generated, count * 2);
        }
        generated[count++] = token;
    }
}
