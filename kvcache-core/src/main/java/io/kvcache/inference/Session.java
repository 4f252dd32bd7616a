package io.kvcache.inference;

import io.kvcache.cache.KvSequence;
import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * A multi-turn conversation. It keeps one cache sequence between turns, so a turn only computes
 * the tokens that differ from what is cached: a text or token prompt continues the transcript
 * (previous prompts and answers); chat messages are rendered whole and the longest common prefix
 * with the cached tokens is reused. {@link Usage#cachedPromptTokens()} reports the reuse.
 *
 * <p>Not thread-safe: one turn at a time (a second concurrent turn fails with
 * {@link IllegalStateException}). Close it to free its sequence.
 */
public final class Session implements AutoCloseable {
    private final Generator generator;
    private final AtomicBoolean turnRunning = new AtomicBoolean();
    private volatile @Nullable KvSequence sequence;
    private int[] transcript = new int[0];
    private volatile boolean closed;

    Session(Generator generator) {
        this.generator = generator;
    }

    public GenerationResult generate(GenerationRequest request) {
        return generate(request, token -> { });
    }

    public GenerationResult generate(GenerationRequest request, Consumer<? super TokenEvent> onToken) {
        return Generator.drain(generator.begin(request, this), onToken);
    }

    public Stream<GenerationEvent> stream(GenerationRequest request) {
        return Generator.streamOf(generator.begin(request, this));
    }

    public Flow.Publisher<GenerationEvent> publisher(GenerationRequest request) {
        Objects.requireNonNull(request, "request");
        return new GenerationPublisher(() -> generator.begin(request, this));
    }

    /** Every token of the conversation so far: prompts and generated answers. */
    public int[] transcript() {
        return transcript.clone();
    }

    /** Tokens currently held in the cache for this conversation. */
    public int cachedTokens() {
        KvSequence s = sequence;
        return s == null ? 0 : s.length();
    }

    DecodeLoop beginTurn(int[] prompt, GenerationRequest request, long start) {
        if (closed) {
            throw new IllegalStateException("the session is closed");
        }
        if (!turnRunning.compareAndSet(false, true)) {
            throw new IllegalStateException("a turn of this session is still running; sessions take one turn at a time");
        }
        try {
            KvSequence seq = sequence;
            if (seq == null) {
                seq = generator.cache().newSequence(prompt);
                sequence = seq;
            } else if (seq.isPreempted()) {
                seq.clear();
            }
            int common = commonPrefix(seq.tokens(), seq.length(), prompt);
            int cached = Generator.admit(seq, common, prompt.length, request.maxTokens());
            return new DecodeLoop(generator.engine(), seq, prompt, cached, request, start,
                    (s, generated) -> endTurn(prompt, generated));
        } catch (RuntimeException | Error e) {
            turnRunning.set(false);
            throw e;
        }
    }

    private void endTurn(int[] prompt, int[] generated) {
        transcript = InferenceEngine.concat(prompt, generated);
        turnRunning.set(false);
        if (closed) {
            freeSequence();
        }
    }

    private static int commonPrefix(int[] cachedTokens, int cachedLength, int[] prompt) {
        int n = Math.min(cachedLength, Math.min(cachedTokens.length, prompt.length));
        int i = 0;
        while (i < n && cachedTokens[i] == prompt[i]) {
            i++;
        }
        return i;
    }

    /** Frees the sequence (after the running turn, if any). Idempotent. */
    @Override
    public void close() {
        closed = true;
        if (!turnRunning.get()) {
            freeSequence();
        }
    }

    private synchronized void freeSequence() {
        KvSequence s = sequence;
        sequence = null;
        if (s != null) {
            s.close();
        }
    }

    @Override
    public String toString() {
        return "Session[" + transcript.length + " tokens, " + cachedTokens() + " cached" + "]"
                + (closed ? " closed" : "");
    }
}
