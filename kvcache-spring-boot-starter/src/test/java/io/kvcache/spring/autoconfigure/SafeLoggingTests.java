package io.kvcache.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.testing.SharedModels;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Configuration;

/**
 * Issue #8's logging rules, checked on a real start-up and generation: prompts and generated text
 * never appear at INFO or above, and the model is named by its file name only (the directory,
 * which can reveal user names and layout, is logged at DEBUG). Download URLs are logged without
 * user info or query string, where credentials and signatures live.
 */
@ExtendWith(OutputCaptureExtension.class)
class SafeLoggingTests {

    private static final String PROMPT = "Zyxwv the quokka whispered to the lighthouse";
    /** Spring Boot's default console pattern: timestamp, then the level padded to 5 characters. */
    private static final Pattern LEVEL = Pattern.compile("^\\S+\\s+(TRACE|DEBUG|INFO|WARN|ERROR)\\s");

    @Test
    void startupAndGenerationLogNeitherTheModelDirectoryNorPromptsAtInfoOrAbove(CapturedOutput output,
            @TempDir Path temp) throws IOException {
        Path modelDir = Files.createDirectories(temp.resolve("private-models-of-alice"));
        Path model = Files.copy(SharedModels.model("stories260K.gguf"), modelDir.resolve("stories260K.gguf"));

        SpringApplication app = new SpringApplication(LoggingApp.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        String completion;
        try (ConfigurableApplicationContext context = app.run("--kvcache.model.path=" + model,
                "--kvcache.threads=1", "--spring.main.banner-mode=off", "--logging.level.io.kvcache=DEBUG")) {
            GenerationResult result = context.getBean(Generator.class).generate(GenerationRequest.greedy(PROMPT, 12));
            completion = result.text();
        }

        List<String[]> entries = entries(output.toString());
        List<String> infoOrAbove = entries.stream().filter(e -> !e[0].equals("DEBUG") && !e[0].equals("TRACE"))
                .map(e -> e[1]).toList();
        List<String> debug = entries.stream().filter(e -> e[0].equals("DEBUG")).map(e -> e[1]).toList();

        // The capture works and sees both levels: the load is reported at INFO by file name, the path at DEBUG.
        assertThat(infoOrAbove).anySatisfy(line -> assertThat(line).contains("Loaded").contains("from stories260K.gguf"));
        assertThat(debug).anySatisfy(line -> assertThat(line).contains(model.toString()));
        assertThat(completion.strip()).hasSizeGreaterThan(8);

        for (String line : infoOrAbove) {
            assertThat(line).as("INFO+ log line").doesNotContain(modelDir.toString()).doesNotContain(temp.toString())
                    .doesNotContain(PROMPT).doesNotContain("quokka").doesNotContain(completion.strip());
        }
    }

    @Test
    void downloadUrlsAreLoggedWithoutUserInfoOrQuery() {
        assertThat(ModelDownloader.forLog(URI.create(
                "https://alice:s3cret@models.example.com:8443/org/repo/resolve/main/model.gguf?X-Amz-Signature=abc#frag")))
                .isEqualTo("https://models.example.com:8443/org/repo/resolve/main/model.gguf");
        assertThat(ModelDownloader.forLog(URI.create("http://localhost/m.gguf?token=t"))).isEqualTo("http://localhost/m.gguf");
        assertThat(ModelDownloader.forLog(URI.create("file:/home/alice/m.gguf"))).isEqualTo("<file URL>");
    }

    /** Log entries as (level, text); lines without a level (stack traces) continue the entry before. */
    private static List<String[]> entries(String captured) {
        List<String[]> entries = new ArrayList<>();
        for (String line : captured.split("\\R")) {
            Matcher m = LEVEL.matcher(line);
            if (m.find()) {
                entries.add(new String[] {m.group(1), line});
            } else if (!entries.isEmpty()) {
                String[] last = entries.getLast();
                last[1] = last[1] + "\n" + line;
            } else {
                entries.add(new String[] {"UNKNOWN", line});
            }
        }
        return entries;
    }

    @Configuration(proxyBeanMethods = false)
    @ImportAutoConfiguration(KvCacheAutoConfiguration.class)
    static class LoggingApp {
    }
}
