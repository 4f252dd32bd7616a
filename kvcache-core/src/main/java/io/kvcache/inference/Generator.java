package io.kvcache.inference;

import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.ContextLengthExceededException;
import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvSequence;
import io.kvcache.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.Objects;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.Flow;
import java.util.function.Consumer;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.jspecify.annotations.Nullable;

/**
 * Turns requests into generated text over one engine and one cache: tokenizes the prompt, attaches
 * cached prefix blocks, prefills what is left, then samples and decodes token by token.
 *
 * <p>Three ways to consume a generation, all driven by the same loop:
 * <ul>
 *   <li>{@link #generate(GenerationRequest, Consumer)}: blocking, with a callback per token;
 *   <li>{@link #stream(GenerationRequest)}: a lazy {@link Stream} of events on the caller's thread
 *       (close it, e.g. with try-with-resources, to stop early and free the sequence);
 *   <li>{@link #publisher(GenerationRequest)}: a {@link Flow.Publisher} (Kotlin:
 *       {@code asFlow()}); cancelling the subscription stops decoding and frees the sequence.
 * </ul>
 *
 * <p>Thread-safe: any number of generations may run at once; each uses its own sequence.
 */
public final class Generator {
    private final InferenceEngine engine;
    private final KvCache cache;

    public Generator(InferenceEngine engine, KvCache cache) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.cache = Objects.requireNonNull(cache, "cache");
    }

    public InferenceEngine engine() {
        return engine;
    }

    public KvCache cache() {
        return cache;
    }

    /** Generates to completion and returns the result. */
    public GenerationResult generate(GenerationRequest request) {
        return generate(request, token -> { });
    }

    /** Generates to completion, calling {@code onToken} on this thread for every token. */
    public GenerationResult generate(GenerationRequest request, Consumer<? super TokenEvent> onToken) {
        return drain(begin(request, null), onToken);
    }

    /** A lazy stream of the generation's events (tokens, then the result). Close it to stop early. */
    public Stream<GenerationEvent> stream(GenerationRequest request) {
        return streamOf(begin(request, null));
    }

    /** A cold publisher: generation starts on subscription, one token per unit of demand. */
    public Flow.Publisher<GenerationEvent> publisher(GenerationRequest request) {
        Objects.requireNonNull(request, "request");
        return new GenerationPublisher(() -> begin(request, null));
    }

    /** A multi-turn conversation that keeps its sequence (and so its cached tokens) between turns. */
    public Session newSession() {
        return new Session(this);
    }

    static GenerationResult drain(DecodeLoop loop, Consumer<? super TokenEvent> onToken) {
        try {
            while (true) {
                GenerationEvent e = loop.next();
                if (e instanceof GenerationResult r) {
                    return r;
                }
                if (e == null) {
                    throw new IllegalStateException("generation ended without a result");
                }
                onToken.accept((TokenEvent) e);
            }
        } catch (RuntimeException | Error e) {
            loop.abandon();
            throw e;
        }
    }

    static Stream<GenerationEvent> streamOf(DecodeLoop loop) {
        Spliterator<GenerationEvent> events = new Spliterators.AbstractSpliterator<>(Long.MAX_VALUE,
                Spliterator.ORDERED | Spliterator.NONNULL) {
            @Override
            public boolean tryAdvance(Consumer<? super GenerationEvent> action) {
                GenerationEvent e = loop.next();
                if (e == null) {
                    return false;
                }
                action.accept(e);
                return true;
            }
        };
        return StreamSupport.stream(events, false).onClose(loop::abandon);
    }

    /**
     * Prepares a generation: tokenizes, checks the context, and gets a sequence with as much of the
     * prompt cached as possible (from the prefix cache, or from the session's previous turns).
     */
    DecodeLoop begin(GenerationRequest request, @Nullable Session session) {
        long start = System.nanoTime();
        int[] prompt = promptTokens(request, session == null ? new int[0] : session.transcript());
        checkFits(prompt);
        if (session != null) {
            return session.beginTurn(prompt, request, start);
        }
        KvSequence sequence = cache.newSequence(prompt);
        try {
            int cached = admit(sequence, sequence.length(), prompt.length, request.maxTokens());
            return new DecodeLoop(engine, sequence, prompt, cached, request, start, (seq, generated) -> seq.close());
        } catch (RuntimeException | Error e) {
            sequence.close();
            throw e;
        }
    }

    /** The token ids a request's prompt becomes (special tokens and chat template applied). */
    public int[] promptTokens(GenerationRequest request) {
        return promptTokens(request, new int[0]);
    }

    /**
     * Readies a sequence for a prompt of which its first {@code reusable} positions are already
     * cached: keeps at most {@code promptLength - 1} of them (the last prompt token must run to give
     * logits) and drops the rest. Under {@code ALWAYS}, nothing is ever preempted, so it also takes
     * the memory of the whole request up front (prompt plus {@code maxTokens}, within the context):
     * a request that cannot fit is refused with {@link io.kvcache.cache.CacheFullException} before
     * it produces anything, instead of failing halfway through its output. Other strategies
     * allocate step by step.
     *
     * @return the prompt tokens served from the cache
     */
    static int admit(KvSequence sequence, int reusable, int promptLength, int maxTokens) {
        int cached = Math.min(reusable, promptLength - 1);
        if (cached < sequence.length()) {
            sequence.truncate(cached);
        }
        if (sequence.strategy() == CacheStrategy.ALWAYS) {
            // The last generated token is never fed back, so it needs no position.
            long end = Math.min((long) promptLength + maxTokens - 1, sequence.capacity());
            if (end > sequence.length()) {
                sequence.reserve((int) (end - sequence.length()));
            }
        }
        return cached;
    }

    int[] promptTokens(GenerationRequest request, int[] transcript) {
        Tokenizer tokenizer = engine.tokenizer();
        int[] fresh;
        boolean continuing = transcript.length > 0;
        if (request.promptTokens() != null) {
            fresh = request.promptTokens();
        } else if (request.messages() != null) {
            String rendered = engine.chatTemplate().render(request.messages(), true);
            fresh = dropDoubleBos(tokenizer.encode(rendered, request.addSpecialTokens(), true), tokenizer.bosId());
            continuing = false;
        } else {
            fresh = tokenizer.encode(Objects.requireNonNull(request.prompt()), request.addSpecialTokens() && !continuing,
                    request.parseSpecialTokens());
        }
        for (int t : fresh) {
            if (t < 0 || t >= engine.config().vocabularySize()) {
                throw new IllegalArgumentException("prompt token " + t + " is outside the vocabulary [0, "
                        + engine.config().vocabularySize() + ")");
            }
        }
        int[] all = continuing ? InferenceEngine.concat(transcript, fresh) : fresh;
        if (all.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give some text or tokens (or enable special tokens so BOS is added)");
        }
        return all;
    }

    private void checkFits(int[] prompt) {
        int capacity = cache.spec().contextLength();
        if (prompt.length >= capacity) {
            throw new ContextLengthExceededException("the prompt has " + prompt.length + " tokens but the context holds "
                    + capacity + " (and one more is needed to generate); shorten the prompt or raise the context length",
                    0, prompt.length, capacity);
        }
    }

    private static int[] dropDoubleBos(int[] tokens, int bos) {
        if (bos >= 0 && tokens.length >= 2 && tokens[0] == bos && tokens[1] == bos) {
            return Arrays.copyOfRange(tokens, 1, tokens.length);
        }
        return tokens;
    }
}
