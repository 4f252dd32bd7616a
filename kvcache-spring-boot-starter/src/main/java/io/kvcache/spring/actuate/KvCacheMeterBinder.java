package io.kvcache.spring.actuate;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheStats;
import io.kvcache.inference.GenerationEvent;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.TokenEvent;
import io.kvcache.inference.Usage;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;

/**
 * Micrometer metrics of a {@link KvCache} and of the generations that use it, in the manner of
 * Micrometer's {@code CacheMeterBinder}.
 *
 * <p>Cache meters, read from {@link KvCache#stats()} when the registry asks:
 * <ul>
 *   <li>{@code kvcache.usage}: used blocks / budget (0..1);
 *   <li>{@code kvcache.blocks} ({@code state=used|free|cached}), {@code kvcache.tokens},
 *       {@code kvcache.sequences};
 *   <li>{@code kvcache.memory} (bytes, {@code state=reserved|used});
 *   <li>function counters {@code kvcache.prefix.queries} and {@code kvcache.prefix.hits} (tokens),
 *       {@code kvcache.evictions}, {@code kvcache.preemptions}.
 * </ul>
 * Generation meters (the {@code Generator} has no hook, so the application reports its generations):
 * <ul>
 *   <li>counter {@code kvcache.generation.tokens} ({@code kind=prompt|cached|completion});
 *   <li>timer {@code kvcache.generation.time.to.first.token};
 *   <li>timer {@code kvcache.generation.token.latency}: one sample per generated token after the first.
 * </ul>
 * Two ways to report a generation:
 * <pre>{@code
 * // Exact per-token latencies: a TokenTimer sees every token, then the result.
 * KvCacheMeterBinder.TokenTimer timer = meters.tokenTimer();
 * GenerationResult result = generator.generate(request, timer);
 * timer.accept(result);
 * // or: generator.stream(request).peek(meters.tokenTimer())...
 *
 * // After the fact: each token after the first counts with the generation's mean decode latency.
 * meters.record(generator.generate(request));
 * }</pre>
 *
 * <p>Thread-safe: {@link #record}, {@link #observe} and {@link #tokenTimer} may be called from any
 * number of threads (each {@link TokenTimer} serves one generation).
 */
public class KvCacheMeterBinder implements MeterBinder {
    private final KvCache cache;
    private final Tags tags;
    private final List<GenerationMeters> generationMeters = new CopyOnWriteArrayList<>();

    public KvCacheMeterBinder(KvCache cache) {
        this(cache, Tags.empty());
    }

    /** With extra tags on every meter (e.g. {@code cache=chat} when an application has several). */
    public KvCacheMeterBinder(KvCache cache, Iterable<Tag> tags) {
        this.cache = Objects.requireNonNull(cache, "cache");
        this.tags = Tags.of(tags);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "kvcache.usage", "Used blocks as a fraction of the budget (0..1)", null, Tags.empty(),
                KvCacheStats::utilization);
        gauge(registry, "kvcache.blocks", "Blocks referenced by live sequences", "blocks", Tags.of("state", "used"),
                KvCacheStats::blocksUsed);
        gauge(registry, "kvcache.blocks", "Blocks neither used nor prefix-cached", "blocks", Tags.of("state", "free"),
                KvCacheStats::blocksFree);
        gauge(registry, "kvcache.blocks", "Unreferenced blocks kept for prefix reuse", "blocks",
                Tags.of("state", "cached"), KvCacheStats::blocksCached);
        gauge(registry, "kvcache.tokens", "Committed positions over all live sequences", "tokens", Tags.empty(),
                KvCacheStats::tokens);
        gauge(registry, "kvcache.sequences", "Live sequences", null, Tags.empty(), KvCacheStats::sequences);
        gauge(registry, "kvcache.memory", "Off-heap bytes allocated", BaseUnits.BYTES, Tags.of("state", "reserved"),
                KvCacheStats::bytesReserved);
        gauge(registry, "kvcache.memory", "Bytes of used blocks", BaseUnits.BYTES, Tags.of("state", "used"),
                KvCacheStats::bytesUsed);
        counter(registry, "kvcache.prefix.queries", "Prompt tokens looked up in the prefix cache", "tokens",
                KvCacheStats::prefixQueryTokens);
        counter(registry, "kvcache.prefix.hits", "Prompt tokens served from the prefix cache", "tokens",
                KvCacheStats::prefixHitTokens);
        counter(registry, "kvcache.evictions", "Prefix-cached blocks evicted to make room", "blocks",
                KvCacheStats::evictions);
        counter(registry, "kvcache.preemptions", "Sequences preempted under memory pressure", null,
                KvCacheStats::preemptions);
        generationMeters.add(new GenerationMeters(
                tokenCounter(registry, "prompt", "Prompt tokens of generations"),
                tokenCounter(registry, "cached", "Prompt tokens served from the cache instead of being computed"),
                tokenCounter(registry, "completion", "Generated tokens"),
                Timer.builder("kvcache.generation.time.to.first.token")
                        .description("Time from the start of a request to its first generated token")
                        .tags(tags).register(registry),
                Timer.builder("kvcache.generation.token.latency")
                        .description("Time to generate one token after the first (mean of each generation)")
                        .tags(tags).register(registry)));
    }

    /**
     * Records the event if it is a generation's final {@link GenerationResult}; ignores tokens. Handy
     * for streams: {@code generator.stream(request).peek(meters::observe)}.
     */
    public void observe(GenerationEvent event) {
        if (event instanceof GenerationResult result) {
            record(result);
        }
    }

    /** Records one finished generation's token counts and timings. */
    public void record(GenerationResult result) {
        record(result.usage());
    }

    /**
     * Records one finished generation's token counts and timings; each generated token after the
     * first counts once in {@code kvcache.generation.token.latency} with the generation's mean decode
     * latency ({@code 1 / decodeTokensPerSecond}). Use a {@link #tokenTimer()} for exact latencies.
     */
    public void record(Usage usage) {
        recordCounts(usage);
        if (usage.decodeTokensPerSecond() > 0 && usage.completionTokens() > 1) {
            long perToken = Math.round(1e9 / usage.decodeTokensPerSecond());
            for (GenerationMeters meters : generationMeters) {
                for (int i = 1; i < usage.completionTokens(); i++) {
                    meters.tokenLatency.record(perToken, TimeUnit.NANOSECONDS);
                }
            }
        }
    }

    /** A timer for one generation that records the real time between consecutive tokens. */
    public TokenTimer tokenTimer() {
        return new TokenTimer(System::nanoTime);
    }

    private void recordCounts(Usage usage) {
        for (GenerationMeters meters : generationMeters) {
            meters.prompt.increment(usage.promptTokens());
            meters.cached.increment(usage.cachedPromptTokens());
            meters.completion.increment(usage.completionTokens());
            if (usage.completionTokens() > 0) {
                meters.timeToFirstToken.record(usage.timeToFirstToken());
            }
        }
    }

    /**
     * Times one generation: give it every event ({@code generate(request, timer)} for the tokens,
     * then {@code timer.accept(result)}; or {@code stream(request).peek(timer)}). Each token after the
     * first records its distance from the previous one in {@code kvcache.generation.token.latency};
     * the result records the counts and the time to first token, once.
     *
     * <p>Not thread-safe: one generation, on the thread that consumes it.
     */
    public final class TokenTimer implements Consumer<GenerationEvent> {
        private final LongSupplier clock;
        private long previous = -1;
        private boolean finished;

        TokenTimer(LongSupplier clock) {
            this.clock = clock;
        }

        @Override
        public void accept(GenerationEvent event) {
            switch (event) {
                case TokenEvent token -> {
                    long now = clock.getAsLong();
                    if (previous >= 0 && token.index() > 0) {
                        for (GenerationMeters meters : generationMeters) {
                            meters.tokenLatency.record(now - previous, TimeUnit.NANOSECONDS);
                        }
                    }
                    previous = now;
                }
                case GenerationResult result -> {
                    if (!finished) {
                        finished = true;
                        recordCounts(result.usage());
                    }
                }
            }
        }
    }

    private Counter tokenCounter(MeterRegistry registry, String kind, String description) {
        return Counter.builder("kvcache.generation.tokens").description(description).baseUnit("tokens")
                .tags(tags).tag("kind", kind).register(registry);
    }

    private void gauge(MeterRegistry registry, String name, String description, @Nullable String baseUnit, Tags extra,
            ToDoubleFunction<KvCacheStats> value) {
        Gauge.builder(name, cache, c -> value.applyAsDouble(c.stats()))
                .description(description).baseUnit(baseUnit).tags(tags.and(extra)).strongReference(true)
                .register(registry);
    }

    private void counter(MeterRegistry registry, String name, String description, @Nullable String baseUnit,
            ToDoubleFunction<KvCacheStats> value) {
        FunctionCounter.builder(name, cache, c -> value.applyAsDouble(c.stats()))
                .description(description).baseUnit(baseUnit).tags(tags).register(registry);
    }

    private record GenerationMeters(Counter prompt, Counter cached, Counter completion, Timer timeToFirstToken,
            Timer tokenLatency) {
    }
}
