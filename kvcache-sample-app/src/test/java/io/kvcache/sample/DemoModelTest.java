package io.kvcache.sample;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.inference.StopReason;
import io.kvcache.sampling.SamplerSettings;
import io.kvcache.spring.autoconfigure.KvCacheAutoConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;

/** Without a configured model the app runs the random-weight demo model, and says so. */
@ExtendWith(OutputCaptureExtension.class)
class DemoModelTest {
    final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withUserConfiguration(DemoModelConfiguration.class)
            .withConfiguration(AutoConfigurations.of(KvCacheAutoConfiguration.class));

    @Test
    void withoutAModelTheDemoModelGeneratesAndWarnsLoudly(CapturedOutput output) {
        runner.run(context -> {
            assertThat(context).hasSingleBean(DemoModel.class).hasSingleBean(InferenceEngine.class)
                    .hasSingleBean(Generator.class);
            assertThat(context.getBean(DemoModel.class).notice())
                    .isEqualTo("demo weights: output is random; set kvcache.model.path to a GGUF file");
            InferenceEngine engine = context.getBean(InferenceEngine.class);
            assertThat(engine.config().layers()).isEqualTo(4);
            assertThat(engine.config().embeddingLength()).isEqualTo(256);
            assertThat(engine.config().vocabularySize())
                    .isEqualTo(DemoVocabulary.metadata().getArray("tokenizer.ggml.tokens").length());
            GenerationResult r = context.getBean(Generator.class).generate(GenerationRequest.greedy("Once upon a time", 8));
            assertThat(r.tokens()).hasSizeBetween(1, 8);
            assertThat(r.stopReason()).isIn(StopReason.MAX_TOKENS, StopReason.END_OF_GENERATION);
        });
        assertThat(output).contains("WARN").contains("RANDOM weights")
                .contains("demo weights: output is random; set kvcache.model.path to a GGUF file");
    }

    @Test
    void theDemoModelPrintsWordsNotBrokenBytes() {
        runner.run(context -> {
            Generator generator = context.getBean(Generator.class);
            String text = generator.generate(GenerationRequest.builder().prompt("Once upon a time").maxTokens(200)
                    .sampling(SamplerSettings.builder().temperature(1).seed(11L).build()).build()).text();
            assertThat(text).isNotBlank().doesNotContain("\uFFFD");
            assertThat(text.chars().filter(c -> c != '\n' && (c < 0x20 || c >= 0x7F)).count()).isZero();
            // Some of the vocabulary's words come out.
            assertThat(text.split("\\s+")).hasSizeGreaterThan(10);
            // Any text still encodes, through byte fallback, without unknown tokens; the bytes outside
            // printable ASCII are control tokens, hidden when decoded.
            InferenceEngine engine = context.getBean(InferenceEngine.class);
            int[] ids = engine.tokenizer().encode("naïve café ✓\ttab", false, false);
            assertThat(ids).doesNotContain(0).hasSizeGreaterThan(5);
            assertThat(engine.tokenizer().decode(ids)).isEqualTo("nave caf tab");
        });
    }

    @Test
    void theDemoModelIsTheSameOnEveryRun() {
        int[][] tokens = new int[2][];
        for (int i = 0; i < 2; i++) {
            int run = i;
            runner.run(context -> tokens[run] = context.getBean(Generator.class)
                    .generate(GenerationRequest.greedy("Once upon a time", 8)).tokens());
        }
        assertThat(tokens[1]).isEqualTo(tokens[0]);
    }

    @Test
    void aConfiguredModelReplacesTheDemoModel() {
        // With a model configured the starter builds the engine (the demo engine would have made it
        // back off), so a missing model fails the start instead of falling back to random weights.
        runner.withPropertyValues("kvcache.model.path=/nonexistent/model.gguf").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).hasStackTraceContaining("kvcache.model.path=/nonexistent/model.gguf");
        });
        runner.withPropertyValues("kvcache.model.url=http://localhost:1/model.gguf").run(context -> {
            assertThat(context).hasFailed();
            assertThat(context.getStartupFailure()).hasStackTraceContaining("http://localhost:1/model.gguf");
        });
    }
}
