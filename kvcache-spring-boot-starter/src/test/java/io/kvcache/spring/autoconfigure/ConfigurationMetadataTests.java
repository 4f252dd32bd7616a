package io.kvcache.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.net.URL;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The generated metadata documents every {@code kvcache.*} property. */
class ConfigurationMetadataTests {

    @Test
    void everyKvcachePropertyHasADescription() throws IOException {
        Map<String, String> descriptions = new LinkedHashMap<>();
        Enumeration<URL> resources = getClass().getClassLoader()
                .getResources("META-INF/spring-configuration-metadata.json");
        while (resources.hasMoreElements()) {
            try (InputStream in = resources.nextElement().openStream()) {
                JsonNode root = JsonMapper.builder().build().readTree(in);
                for (JsonNode property : root.get("properties")) {
                    String name = property.get("name").asString();
                    if (name.startsWith("kvcache.")) {
                        JsonNode description = property.get("description");
                        descriptions.put(name, description == null ? "" : description.asString());
                    }
                }
            }
        }
        assertThat(descriptions.keySet()).contains("kvcache.threads", "kvcache.max-batch-size", "kvcache.model.path", "kvcache.model.url",
                "kvcache.model.cache-dir", "kvcache.model.sha256", "kvcache.cache.layers",
                "kvcache.cache.context-length", "kvcache.cache.kv-heads", "kvcache.cache.head-dim",
                "kvcache.cache.key-type", "kvcache.cache.value-type", "kvcache.cache.block-size",
                "kvcache.cache.memory-budget", "kvcache.cache.max-sequences", "kvcache.cache.strategy",
                "kvcache.cache.long-sequence-threshold", "kvcache.cache.sliding-window", "kvcache.cache.sink-tokens",
                "kvcache.cache.prefix-caching", "kvcache.generation.max-tokens", "kvcache.generation.temperature",
                "kvcache.generation.top-p", "kvcache.generation.top-k", "kvcache.generation.min-p",
                "kvcache.generation.repetition-penalty", "kvcache.generation.seed", "kvcache.generation.stop");
        List<String> undocumented = new ArrayList<>();
        descriptions.forEach((name, description) -> {
            if (description.isBlank()) {
                undocumented.add(name);
            }
        });
        assertThat(undocumented).as("kvcache properties without a description").isEmpty();
    }
}
