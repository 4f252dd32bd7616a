package io.kvcache.sample.web;

import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.Generator;
import io.kvcache.sample.SampleProperties;
import io.kvcache.tokenizer.ChatMessage;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;

/**
 * Enforces {@code sample.limits.*} on every generation request before any work is done (no cache
 * sequence is opened for a refused request): prompt size in bytes, then in tokens, and the number of
 * generations running at once ({@code max_tokens} is checked by {@link GenerationRequests}). Thread-safe.
 */
@Component
public class RequestLimits {
    /** Error code of a prompt over {@code sample.limits.max-prompt-size}. */
    public static final String PROMPT_TOO_LARGE = "prompt_too_large";
    /** Error code of a request over {@code sample.limits.max-concurrent-requests}. */
    public static final String TOO_MANY_REQUESTS = "too_many_requests";

    private final Generator generator;
    private final long maxPromptBytes;
    private final int maxPromptTokens;
    private final int contextLength;
    private final int maxConcurrent;
    private final Semaphore running;

    public RequestLimits(Generator generator, SampleProperties properties) {
        SampleProperties.Limits limits = properties.limits();
        this.generator = generator;
        this.contextLength = generator.cache().spec().contextLength();
        this.maxPromptBytes = limits.maxPromptSize().toBytes();
        int contextLimit = Math.max(1, contextLength - 1);
        this.maxPromptTokens = limits.maxPromptTokens() == 0 ? contextLimit
                : Math.min(limits.maxPromptTokens(), contextLimit);
        this.maxConcurrent = limits.maxConcurrentRequests();
        this.running = new Semaphore(maxConcurrent);
    }

    /** The effective prompt-token limit: the configured one, at most the context length minus one. */
    public int maxPromptTokens() {
        return maxPromptTokens;
    }

    /**
     * Checks a built request against the size limits.
     *
     * @param promptParam the request field holding the prompt, named in the error
     * @throws ApiException 400 naming the field when a limit is exceeded
     */
    public void check(GenerationRequest request, String promptParam) {
        long bytes = promptBytes(request);
        if (bytes > maxPromptBytes) {
            throw new ApiException(HttpStatus.BAD_REQUEST, ApiError.INVALID_REQUEST, promptParam, PROMPT_TOO_LARGE,
                    "the prompt is " + bytes + " bytes; this server accepts at most " + maxPromptBytes
                            + " (sample.limits.max-prompt-size): shorten it");
        }
        int tokens = generator.promptTokens(request).length;
        if (tokens > maxPromptTokens) {
            throw new ApiException(HttpStatus.BAD_REQUEST, ApiError.INVALID_REQUEST, promptParam,
                    ApiError.CONTEXT_LENGTH_EXCEEDED, "the prompt is " + tokens + " tokens; this server accepts at most "
                            + maxPromptTokens + " (context length " + contextLength
                            + " minus room to generate, or sample.limits.max-prompt-tokens): shorten it");
        }
    }

    /**
     * Takes one of the {@code sample.limits.max-concurrent-requests} slots, without waiting.
     *
     * @return releases the slot; idempotent, so it can be called from every way a request ends
     * @throws ApiException 429 {@code too_many_requests} (with {@code Retry-After}) when all are taken
     */
    public Runnable admit() {
        if (!running.tryAcquire()) {
            throw new ApiException(HttpStatus.TOO_MANY_REQUESTS, ApiError.OVERLOADED, null, TOO_MANY_REQUESTS,
                    "this server is already running " + maxConcurrent + " generations "
                            + "(sample.limits.max-concurrent-requests); retry later");
        }
        AtomicBoolean released = new AtomicBoolean();
        return () -> {
            if (released.compareAndSet(false, true)) {
                running.release();
            }
        };
    }

    /** Generations running now. */
    public int running() {
        return maxConcurrent - running.availablePermits();
    }

    private static long promptBytes(GenerationRequest request) {
        if (request.prompt() != null) {
            return utf8Length(request.prompt());
        }
        List<ChatMessage> messages = request.messages();
        if (messages != null) {
            long sum = 0;
            for (ChatMessage m : messages) {
                sum += utf8Length(m.role()) + utf8Length(m.content());
            }
            return sum;
        }
        // A token-id prompt is bounded by the token limit alone.
        return 0;
    }

    private static long utf8Length(String s) {
        // Counts without copying: prompts may be large.
        long n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}
