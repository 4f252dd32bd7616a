package io.kvcache.sample.web;

import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.StopReason;
import io.kvcache.sample.SampleProperties;
import io.kvcache.sampling.SamplerSettings;
import io.kvcache.spring.autoconfigure.KvCacheProperties;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;
import tools.jackson.databind.JsonNode;

/**
 * Turns the sampling and stop fields of an HTTP request into a {@link GenerationRequest.Builder},
 * starting from the configured defaults, and rejects invalid values with a 400 that names the
 * field. Shared by {@code /api/generate} and the OpenAI endpoints. Fields a request leaves out take
 * the starter's {@code kvcache.generation.*} defaults; a {@code max_tokens} above
 * {@code sample.limits.max-tokens} is refused, and a larger default is lowered to that limit.
 * Thread-safe.
 */
@Component
public class GenerationRequests {
    /** OpenAI's limit on stop sequences. */
    static final int MAX_STOP_SEQUENCES = 4;

    private final SamplerSettings defaultSampling;
    private final int defaultMaxTokens;
    private final int maxTokensLimit;
    private final List<String> defaultStop;

    /** Uses the starter's {@code kvcache.generation.*} defaults and {@code sample.limits.max-tokens}. */
    @Autowired
    public GenerationRequests(KvCacheProperties properties, SampleProperties sample) {
        this(properties.getGeneration().toSamplerSettings(), properties.getGeneration().getMaxTokens(),
                properties.getGeneration().getStop(), sample.limits().maxTokens());
    }

    GenerationRequests(SamplerSettings defaultSampling, int defaultMaxTokens, List<String> defaultStop,
            int maxTokensLimit) {
        this.defaultSampling = defaultSampling;
        this.maxTokensLimit = maxTokensLimit;
        this.defaultMaxTokens = Math.min(defaultMaxTokens, maxTokensLimit);
        this.defaultStop = List.copyOf(defaultStop);
    }

    /** Sampling and stop settings of a request; fields left null keep the defaults. Immutable. */
    public record Options(@Nullable Integer maxTokens, @Nullable Double temperature, @Nullable Double topP,
            @Nullable Integer topK, @Nullable Long seed, @Nullable JsonNode stop) {
    }

    /** A builder with everything but the prompt set. */
    public GenerationRequest.Builder builder(Options o) {
        SamplerSettings.Builder sampling = defaultSampling.toBuilder();
        if (o.temperature() != null) {
            double t = o.temperature();
            require(Double.isFinite(t) && t >= 0 && t <= 2, "temperature",
                    "temperature must be between 0 and 2 (0 = greedy), got " + t);
            sampling.temperature((float) t);
        }
        if (o.topP() != null) {
            double p = o.topP();
            require(Double.isFinite(p) && p > 0 && p <= 1, "top_p", "top_p must be in (0, 1] (1 = disabled), got " + p);
            sampling.topP((float) p);
        }
        if (o.topK() != null) {
            require(o.topK() >= 0, "top_k", "top_k must be >= 0 (0 = disabled), got " + o.topK());
            sampling.topK(o.topK());
        }
        if (o.seed() != null) {
            sampling.seed(o.seed().longValue());
        }
        int maxTokens = defaultMaxTokens;
        if (o.maxTokens() != null) {
            require(o.maxTokens() >= 1, "max_tokens", "max_tokens must be at least 1, got " + o.maxTokens());
            require(o.maxTokens() <= maxTokensLimit, "max_tokens", "max_tokens is " + o.maxTokens()
                    + "; this server allows at most " + maxTokensLimit + " (sample.limits.max-tokens): ask for fewer");
            maxTokens = o.maxTokens();
        }
        return GenerationRequest.builder()
                .sampling(sampling.build())
                .maxTokens(maxTokens)
                .stopStrings(o.stop() == null ? defaultStop : stops(o.stop()));
    }

    /** {@code stop}: absent, a string, or a list of up to four non-empty strings. */
    static List<String> stops(@Nullable JsonNode stop) {
        if (stop == null || stop.isNull() || stop.isMissingNode()) {
            return List.of();
        }
        List<String> result = new ArrayList<>();
        if (stop.isString()) {
            result.add(stop.asString());
        } else if (stop.isArray()) {
            for (JsonNode item : stop) {
                require(item.isString(), "stop", "stop must be a string or a list of strings, got an item " + item);
                result.add(item.asString());
            }
        } else {
            throw ApiException.invalid("stop", "stop must be a string or a list of strings, got " + stop);
        }
        require(result.size() <= MAX_STOP_SEQUENCES, "stop",
                "stop takes at most " + MAX_STOP_SEQUENCES + " sequences, got " + result.size());
        for (String s : result) {
            require(!s.isEmpty(), "stop", "stop sequences must not be empty");
        }
        return List.copyOf(result);
    }

    /** OpenAI's {@code finish_reason}: {@code stop} or {@code length}. */
    public static String finishReason(StopReason reason) {
        return switch (reason) {
            case END_OF_GENERATION, STOP_STRING, CANCELLED -> "stop";
            case MAX_TOKENS, CONTEXT_FULL -> "length";
        };
    }

    static void require(boolean ok, String param, String message) {
        if (!ok) {
            throw ApiException.invalid(param, message);
        }
    }
}
