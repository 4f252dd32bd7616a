package io.kvcache.sample.web;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.inference.Generator;
import io.kvcache.model.ModelConfig;
import io.kvcache.sample.DemoModel;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/info}: which model is loaded, whether it is the random demo model, and the
 * cache's geometry; the page shows it. Thread-safe.
 */
@RestController
class InfoController {
    private final Generator generator;
    private final @Nullable DemoModel demo;

    InfoController(Generator generator, ObjectProvider<DemoModel> demo) {
        this.generator = generator;
        this.demo = demo.getIfAvailable();
    }

    /** What {@code /api/info} returns. */
    record Info(@JsonProperty("model") ModelInfo model, @JsonProperty("demo") boolean demo,
            @JsonProperty("notice") @Nullable String notice, @JsonProperty("cache") CacheInfo cache) {
    }

    record ModelInfo(@JsonProperty("name") String name, @JsonProperty("architecture") String architecture,
            @JsonProperty("layers") int layers, @JsonProperty("embedding_length") int embeddingLength,
            @JsonProperty("heads") int heads, @JsonProperty("kv_heads") int kvHeads,
            @JsonProperty("vocabulary_size") int vocabularySize, @JsonProperty("context_length") int contextLength,
            @JsonProperty("threads") int threads) {
    }

    record CacheInfo(@JsonProperty("context_length") int contextLength, @JsonProperty("block_size") int blockSize,
            @JsonProperty("bytes_per_token") long bytesPerToken, @JsonProperty("max_sequences") int maxSequences,
            @JsonProperty("strategy") String strategy) {
    }

    @GetMapping("/api/info")
    Info info() {
        ModelConfig c = generator.engine().config();
        KvCacheSpec spec = generator.cache().spec();
        return new Info(
                new ModelInfo(c.name(), c.architecture(), c.layers(), c.embeddingLength(), c.heads(), c.kvHeads(),
                        c.vocabularySize(), c.contextLength(), generator.engine().threads()),
                demo != null, demo == null ? null : demo.notice(),
                new CacheInfo(spec.contextLength(), spec.blockSize(), spec.bytesPerToken(),
                        generator.cache().maxSequences(), generator.cache().strategy().toString()));
    }
}
