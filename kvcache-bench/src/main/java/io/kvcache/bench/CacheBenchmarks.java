package io.kvcache.bench;

import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvCacheStats;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.sampling.SamplerSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * What the cache buys, on one model: decoding at depth with the cache against recomputing the whole
 * history every step ({@link CacheStrategy#DISABLED}); time to first token with a prefix-cache hit
 * against a cold prompt; aggregate decode throughput of concurrent generations; K/V bytes per token
 * against the theory. Not thread-safe (it starts its own threads where it measures concurrency).
 */
public final class CacheBenchmarks {
    /** Cached decode should beat recomputation at depth 1024 by this factor. */
    public static final double RECOMPUTE_SPEEDUP_TARGET = 50;
    /** A prefix-cache hit should cut the time to first token by this factor. */
    public static final double PREFIX_TTFT_SPEEDUP_TARGET = 20;
    /** Eight concurrent sequences should decode at least this many times the tokens of one. */
    public static final double CONCURRENCY_8_TARGET = 4;

    private final InferenceEngine engine;
    private final String model;
    private final KvElementType kvType;
    private final int contextLength;

    public CacheBenchmarks(InferenceEngine engine, String model, KvElementType kvType, int contextLength) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.model = Objects.requireNonNull(model, "model");
        this.kvType = Objects.requireNonNull(kvType, "kvType");
        this.contextLength = contextLength;
    }

    /**
     * Decode steps at depth {@code prompt.length} with {@link CacheStrategy#DISABLED}: every step
     * recomputes the whole history. Returns the recompute throughput record and, when
     * {@code cachedTokensPerSecond > 0}, the speed-up record.
     */
    public List<BenchRecord> recomputeAtDepth(int[] prompt, int steps, double cachedTokensPerSecond) {
        String depth = "@d" + prompt.length;
        try (KvCache cache = KvCache.builder(spec()).strategy(CacheStrategy.DISABLED).maxSequences(1).build();
             KvSequence seq = cache.newSequence()) {
            float[] logits = engine.forward(seq, prompt);
            int[] next = {Stats.argmax(logits)};
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                logits = engine.forward(seq, next);
                next[0] = Stats.argmax(logits);
            }
            double recompute = steps / ((System.nanoTime() - t0) / 1e9);
            List<BenchRecord> out = new ArrayList<>();
            out.add(BenchRecord.throughput(BenchRecord.KVCACHE, model, "decode" + depth + " recompute (DISABLED)",
                    recompute).with("steps", steps));
            if (cachedTokensPerSecond > 0) {
                out.add(BenchRecord.figure(BenchRecord.KVCACHE, model, "cache_speedup" + depth,
                                Results.round(cachedTokensPerSecond / recompute, 1), "x", RECOMPUTE_SPEEDUP_TARGET)
                        .with("cached_tokens_per_second", Results.round(cachedTokensPerSecond, 2))
                        .with("recompute_tokens_per_second", Results.round(recompute, 4)));
            }
            return out;
        }
    }

    /**
     * Time to first token of {@code prefix + tails[i]} for {@code i >= 1}, each right after earlier
     * requests filled the prefix cache, against {@code prefix + tails[0]} with an empty prefix
     * cache. Tails should differ in their first token, so that every hit reuses the prefix only.
     *
     * @throws IllegalArgumentException with fewer than two tails
     */
    public List<BenchRecord> prefixHitTimeToFirstToken(int[] prefix, List<int[]> tails) {
        if (tails.size() < 2) {
            throw new IllegalArgumentException("need a tail for the cold request and at least one for a hit, got "
                    + tails.size());
        }
        try (KvCache cache = KvCache.builder(spec()).maxSequences(2).build()) {
            Generator generator = new Generator(engine, cache);
            cache.clearPrefixCache();
            GenerationResult cold = generator.generate(oneToken(Prompts.concat(prefix, tails.getFirst())));
            double[] hits = new double[tails.size() - 1];
            int cachedMin = Integer.MAX_VALUE;
            int cachedMax = 0;
            for (int i = 0; i < hits.length; i++) {
                GenerationResult hit = generator.generate(oneToken(Prompts.concat(prefix, tails.get(i + 1))));
                hits[i] = hit.usage().timeToFirstToken().toNanos() / 1e6;
                cachedMin = Math.min(cachedMin, hit.usage().cachedPromptTokens());
                cachedMax = Math.max(cachedMax, hit.usage().cachedPromptTokens());
            }
            double coldMs = cold.usage().timeToFirstToken().toNanos() / 1e6;
            double hitMs = Stats.median(hits);
            String name = "@" + prefix.length;
            return List.of(
                    BenchRecord.figure(BenchRecord.KVCACHE, model, "ttft_cold" + name, Results.round(coldMs, 1), "ms", null)
                            .with("prompt_tokens", cold.usage().promptTokens())
                            .with("cached_prompt_tokens", cold.usage().cachedPromptTokens()),
                    BenchRecord.figure(BenchRecord.KVCACHE, model, "ttft_prefix_hit" + name, Results.round(hitMs, 1), "ms", null)
                            .with("prompt_tokens", prefix.length + tails.get(1).length)
                            .with("cached_prompt_tokens", cachedMin == cachedMax ? cachedMin : cachedMin + ".." + cachedMax)
                            .with("reps", hits.length),
                    BenchRecord.figure(BenchRecord.KVCACHE, model, "prefix_hit_ttft_speedup" + name,
                            Results.round(coldMs / hitMs, 1), "x", PREFIX_TTFT_SPEEDUP_TARGET));
        }
    }

    private static GenerationRequest oneToken(int[] prompt) {
        return GenerationRequest.builder().promptTokens(prompt).maxTokens(1).sampling(SamplerSettings.greedy()).build();
    }

    /**
     * Aggregate tokens/s of {@code n} threads each generating up to {@code maxTokens} tokens (greedy)
     * from its own short prompt through one shared {@link Generator}, for each {@code n} in
     * {@code concurrency}; plus the ratio of the largest to a single sequence. Concurrent decode
     * steps share batched forward passes up to the engine's {@code maxBatchSize} (recorded as
     * {@code max_batch_size}; an engine loaded with {@code withMaxBatchSize(1)} gives the unbatched
     * figure to compare with).
     */
    public List<BenchRecord> concurrentDecode(int[] prompt, int maxTokens, int[] concurrency) {
        int most = 0;
        for (int c : concurrency) {
            most = Math.max(most, c);
        }
        List<BenchRecord> out = new ArrayList<>();
        double single = -1;
        double largest = -1;
        try (KvCache cache = KvCache.builder(spec()).maxSequences(Math.max(1, most)).prefixCaching(false).build();
             ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, most))) {
            Generator generator = new Generator(engine, cache);
            // One untimed pass over every level first: the generator's path (batched forward passes,
            // the decode loop) is not the one the tg figures warmed up, and a cold x1 would flatter
            // the scaling.
            for (int c : concurrency) {
                timedRound(generator, pool, prompt, maxTokens, c);
            }
            for (int c : concurrency) {
                long[] tokensAndNanos = timedRound(generator, pool, prompt, maxTokens, c);
                double rate = tokensAndNanos[0] / (tokensAndNanos[1] / 1e9);
                if (c == 1) {
                    single = rate;
                }
                if (c == most) {
                    largest = rate;
                }
                out.add(BenchRecord.throughput(BenchRecord.KVCACHE, model, "concurrent_decode x" + c, Results.round(rate, 2))
                        .with("sequences", c).with("tokens", tokensAndNanos[0])
                        .with("prompt_tokens", prompt.length).with("max_batch_size", engine.maxBatchSize()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring concurrent decoding", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("a concurrent generation failed: " + e.getCause(), e.getCause());
        }
        if (single > 0 && largest > 0 && most > 1) {
            out.add(BenchRecord.figure(BenchRecord.KVCACHE, model, "concurrency_scaling x" + most + "/x1",
                    Results.round(largest / single, 2), "x", most == 8 ? CONCURRENCY_8_TARGET : null));
        }
        return out;
    }

    /** {@code c} generations started together; returns the tokens they generated and the nanoseconds they took. */
    private long[] timedRound(Generator generator, ExecutorService pool, int[] prompt, int maxTokens, int c)
            throws InterruptedException, java.util.concurrent.ExecutionException {
        List<Future<GenerationResult>> futures = new ArrayList<>();
        CountDownLatch ready = new CountDownLatch(c);
        CountDownLatch go = new CountDownLatch(1);
        for (int i = 0; i < c; i++) {
            int[] own = prompt.clone();
            // Different last tokens: the sequences are independent, as for different users.
            own[own.length - 1] = (own[own.length - 1] + i) % engine.config().vocabularySize();
            GenerationRequest request = GenerationRequest.builder().promptTokens(own).maxTokens(maxTokens)
                    .sampling(SamplerSettings.greedy()).build();
            futures.add(pool.submit(() -> {
                ready.countDown();
                go.await();
                return generator.generate(request);
            }));
        }
        ready.await();
        long t0 = System.nanoTime();
        go.countDown();
        long tokens = 0;
        for (Future<GenerationResult> f : futures) {
            tokens += f.get().usage().completionTokens();
        }
        return new long[] {tokens, System.nanoTime() - t0};
    }

    /**
     * Fills a sequence with {@code tokens} positions of each element type and compares the bytes
     * the cache reports in use with {@link KvCacheSpec#bytesPerToken()}.
     */
    public List<BenchRecord> bytesPerToken(int tokens) {
        List<BenchRecord> out = new ArrayList<>();
        int kvDim = engine.config().kvDim();
        float[] k = new float[kvDim];
        float[] v = new float[kvDim];
        for (int i = 0; i < kvDim; i++) {
            k[i] = (float) Math.sin(i);
            v[i] = (float) Math.cos(i);
        }
        for (KvElementType type : KvElementType.values()) {
            KvCacheSpec spec = engine.kvCacheSpec(contextLength, type);
            try (KvCache cache = KvCache.builder(spec).maxSequences(1).build(); KvSequence seq = cache.newSequence()) {
                seq.reserve(tokens);
                for (int p = 0; p < tokens; p++) {
                    for (int l = 0; l < spec.layers(); l++) {
                        seq.store(l, p, k, 0, v, 0);
                    }
                }
                seq.advance(tokens);
                KvCacheStats stats = cache.stats();
                double used = (double) stats.bytesUsed() / stats.tokens();
                out.add(BenchRecord.figure(BenchRecord.KVCACHE, model, "kv_bytes_per_token[" + type + "]",
                                Results.round(used, 1), "bytes", null)
                        .with("theory_bytes_per_token", spec.bytesPerToken())
                        .with("used_over_theory", Results.round(used / spec.bytesPerToken(), 4))
                        .with("reserved_bytes_per_token", Results.round((double) stats.bytesReserved() / stats.tokens(), 1))
                        .with("tokens", tokens).with("block_size", spec.blockSize()));
            }
        }
        return out;
    }

    private KvCacheSpec spec() {
        return engine.kvCacheSpec(contextLength, kvType);
    }
}
