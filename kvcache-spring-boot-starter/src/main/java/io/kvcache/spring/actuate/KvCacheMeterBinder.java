package io.kvcache.spring.actuate;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheStats;
import io.kvcache.inference.GenerationResult;
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
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
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
 * Generation meters, fed by {@link #record(GenerationResult)} (the {@code Generator} has no hook, so
 * call it after each generation, or from the final event of a stream):
 * <ul>
 *   <li>counter {@code kvcache.generation.tokens} ({@code kind=prompt|cached|completion});
 *   <li>timer {@code kvcache.generation.time.to.first.token};
 *   <li>timer {@code kvcache.generation.token.latency}: one sample per generated token after the
 *       first, the generation's mean decode latency ({@code 1 / decodeTokensPerSecond}).
 * </ul>
 *
 * <p>Thread-safe: {@link #record} may be called from any number of threads.
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

    /** Records one finished generation's token counts and timings. */
    public void record(GenerationResult result) {
        record(result.usage());
    }

    /** Records one finished generation's token counts and timings. */
    public void record(Usage usage) {
        @Nullable Duration perToken = usage.decodeTokensPerSecond() > 0 && usage.completionTokens() > 1
                ? Duration.ofNanos(Math.round(1e9 / usage.decodeTokensPerSecond()))
                : null;
        for (GenerationMeters meters : generationMeters) {
            meters.prompt.increment(usage.promptTokens());
            meters.cached.increment(usage.cachedPromptTokens());
            meters.completion.increment(usage.completionTokens());
            if (usage.completionTokens() > 0) {
                meters.timeToFirstToken.record(usage.timeToFirstToken());
            }
            if (perToken != null) {
                for (int i = 1; i < usage.completionTokens(); i++) {
                    meters.tokenLatency.record(perToken);
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
