package io.kvcache.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.testing.SharedModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Each configuration error fails startup with an analysis that says what is wrong and what to change. */
@ExtendWith(OutputCaptureExtension.class)
class KvCacheFailureAnalyzerTests {
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(KvCacheAutoConfigurationTests.ALL)
            .withPropertyValues("kvcache.threads=1");

    private static final String[] DIMENSIONS = {"kvcache.cache.layers=22", "kvcache.cache.context-length=2048",
        "kvcache.cache.kv-heads=4", "kvcache.cache.head-dim=64"};

    /** Starts a context with these properties and analyzes its startup failure. */
    private FailureAnalysis analyze(ApplicationContextRunner r, String... properties) {
        FailureAnalysis[] analysis = new FailureAnalysis[1];
        r.withPropertyValues(properties).run(context -> {
            assertThat(context).hasFailed();
            analysis[0] = new KvCacheFailureAnalyzer().analyze(context.getStartupFailure());
        });
        assertThat(analysis[0]).as("the analyzer recognizes the failure").isNotNull();
        return analysis[0];
    }

    private FailureAnalysis analyze(String... properties) {
        return analyze(runner, properties);
    }

    @Test
    void missingModelFile(@TempDir Path dir) {
        Path missing = dir.resolve("nope.gguf");
        FailureAnalysis a = analyze("kvcache.model.path=" + missing);
        assertThat(a.getDescription()).contains(missing.toString()).contains("does not exist");
        assertThat(a.getAction()).contains("kvcache.model.path").contains("kvcache.model.url");
    }

    @Test
    void emptyModelPath() {
        FailureAnalysis a = analyze("kvcache.model.path=");
        assertThat(a.getDescription()).contains("set but empty");
        assertThat(a.getAction()).contains("kvcache.model.path");
    }

    @Test
    void modelPathIsADirectory(@TempDir Path dir) {
        FailureAnalysis a = analyze("kvcache.model.path=" + dir);
        assertThat(a.getDescription()).contains(dir.toString()).contains("not a regular file");
        assertThat(a.getAction()).contains("kvcache.model.path");
    }

    @Test
    void modelFileIsNotGguf(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("model.gguf"), "this is not a model");
        FailureAnalysis a = analyze("kvcache.model.path=" + file);
        assertThat(a.getDescription()).contains(file.toString()).contains("not a valid GGUF file");
        assertThat(a.getAction()).contains("kvcache.model.path");
    }

    @Test
    void dimensionsThatDisagreeWithTheModelShowBothValues() {
        FailureAnalysis a = analyze("kvcache.model.path=" + SharedModels.model("stories260K.gguf"),
                "kvcache.cache.layers=22", "kvcache.cache.head-dim=8", "kvcache.cache.kv-heads=2",
                "kvcache.cache.context-length=4096");
        assertThat(a.getDescription())
                .contains("kvcache.cache.layers=22 but the model llama has 5")
                .contains("kvcache.cache.kv-heads=2 but the model llama has 4")
                .contains("kvcache.cache.context-length=4096").contains("context length of 2048")
                .doesNotContain("head-dim=8 but");
        assertThat(a.getAction()).contains("layers=5").contains("kv-heads=4").contains("head-dim=8").contains("2048");
    }

    @Test
    void budgetSmallerThanOneBlock() {
        FailureAnalysis a = analyze(runner.withPropertyValues(DIMENSIONS), "kvcache.cache.memory-budget=64KB");
        long blockBytes = 2L * 22 * 4 * 64 * 4 * 16;
        assertThat(a.getDescription()).contains("kvcache.cache.memory-budget").contains("65536 bytes")
                .contains("smaller than one block of " + blockBytes + " bytes");
        assertThat(a.getAction()).contains("at least " + blockBytes + "B").contains("kvcache.cache.block-size");
    }

    @Test
    void budgetBeyondTheBlockLimit() {
        FailureAnalysis a = analyze(runner.withPropertyValues("kvcache.cache.layers=1", "kvcache.cache.kv-heads=1",
                "kvcache.cache.head-dim=1", "kvcache.cache.context-length=16", "kvcache.cache.block-size=1"),
                "kvcache.cache.memory-budget=1GB");
        assertThat(a.getDescription()).contains("more than the " + KvCache.MAX_BLOCKS);
        assertThat(a.getAction()).contains("kvcache.cache.block-size").contains("kvcache.cache.memory-budget");
    }

    @Test
    void missingDimensionsAreNamed() {
        FailureAnalysis a = analyze("kvcache.cache.layers=22", "kvcache.cache.head-dim=64");
        assertThat(a.getDescription())
                .contains("kvcache.cache.context-length, kvcache.cache.kv-heads are not set");
        assertThat(a.getAction()).contains("kvcache.cache.context-length").contains("kvcache.model.path");
    }

    @Test
    void invalidShapeFromCore() {
        FailureAnalysis a = analyze(runner.withPropertyValues(DIMENSIONS), "kvcache.cache.head-dim=48",
                "kvcache.cache.key-type=Q8_0");
        assertThat(a.getDescription()).contains("head-dim=48").contains("multiple of 32");
        assertThat(a.getAction()).contains("Q8_0");
    }

    @Test
    void pathAndUrlTogether(@TempDir Path dir) {
        FailureAnalysis a = analyze("kvcache.model.path=" + dir.resolve("a.gguf"),
                "kvcache.model.url=http://127.0.0.1:9/a.gguf");
        assertThat(a.getDescription()).contains("Both kvcache.model.path");
        assertThat(a.getAction()).contains("only one");
    }

    @Test
    void sha256OfALocalModelIsChecked() {
        FailureAnalysis a = analyze("kvcache.model.path=" + SharedModels.model("stories260K.gguf"),
                "kvcache.model.sha256=" + "0".repeat(64));
        assertThat(a.getDescription())
                .contains("270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d")
                .contains("expects " + "0".repeat(64));
        assertThat(a.getAction()).contains("kvcache.model.sha256");
    }

    @Test
    void invalidSamplingDefaults() {
        FailureAnalysis a = analyze("kvcache.generation.top-p=1.5");
        assertThat(a.getDescription()).contains("topP must be in (0, 1]");
        assertThat(a.getAction()).contains("kvcache.generation");
    }

    @Test
    void aUserCacheThatDoesNotFitTheModel() {
        FailureAnalysis a = analyze(runner.withUserConfiguration(WrongCache.class),
                "kvcache.model.path=" + SharedModels.model("stories260K.gguf"));
        assertThat(a.getDescription()).contains("layers=22").contains("layers=5");
        assertThat(a.getAction()).contains("kvCacheBuilder");
    }

    @Test
    void otherFailuresAreNotClaimed() {
        assertThat(new KvCacheFailureAnalyzer().analyze(new IllegalStateException("unrelated"))).isNull();
    }

    @Test
    void theAnalyzerIsRegisteredAndReportsAtStartup(CapturedOutput output, @TempDir Path dir) {
        Path missing = dir.resolve("absent.gguf");
        SpringApplication app = new SpringApplication(StartupApp.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        assertThatThrownBy(() -> app.run("--kvcache.model.path=" + missing, "--spring.main.banner-mode=off"))
                .hasRootCauseInstanceOf(KvCacheConfigurationException.class);
        assertThat(output).contains("APPLICATION FAILED TO START")
                .contains("The model file " + missing + " (kvcache.model.path=" + missing + ") does not exist")
                .contains("Action:");
    }

    @Configuration(proxyBeanMethods = false)
    static class WrongCache {
        @Bean(destroyMethod = "close")
        KvCache wrongCache() {
            return KvCache.builder(KvCacheSpec.builder().layers(22).kvHeads(4).headDim(64).contextLength(64).build())
                    .build();
        }
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(KvCacheAutoConfiguration.class)
    static class StartupApp {
    }
}
