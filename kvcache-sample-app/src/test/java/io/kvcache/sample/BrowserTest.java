package io.kvcache.sample;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvcache.testing.SharedModels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The web page in headless Chromium: type a prompt, press Generate, watch the text grow token by
 * token and the cache occupancy bar change; screenshots go to {@code target/screenshots}. Skipped
 * (with a message) only when Debian's {@code chromium} / {@code chromium-driver} are not installed
 * ({@code apt-get install -y chromium chromium-driver}).
 */
class BrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static final Path SCREENSHOTS = Path.of("target", "screenshots");
    /** Selenium 4.38 ships DevTools bindings up to Chrome 142 and warns about newer ones; the test uses none. */
    static final String QUIET_SELENIUM = "logging.level.org.openqa.selenium=ERROR";

    /** A browser per test, with a fresh profile. */
    abstract static class PageTest {
        ChromeDriver driver;
        Path profile;

        @BeforeEach
        void browser() throws IOException {
            assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                    "skipped: headless browser test needs " + CHROMIUM + " and " + CHROMEDRIVER
                            + " (Debian: apt-get install -y chromium chromium-driver)");
            profile = Files.createTempDirectory("kvcache-chromium-");
            ChromeOptions options = new ChromeOptions();
            options.setBinary(CHROMIUM.toFile());
            options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1360,1000", "--user-data-dir=" + profile);
            ChromeDriverService service = new ChromeDriverService.Builder()
                    .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
            driver = new ChromeDriver(service, options);
        }

        @AfterEach
        void close() throws IOException {
            if (driver != null) {
                driver.quit();
            }
            if (profile != null) {
                try (var files = Files.walk(profile)) {
                    files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
                }
            }
        }

        void screenshot(String name) {
            try {
                Files.createDirectories(SCREENSHOTS);
                Path png = driver.getScreenshotAs(OutputType.FILE).toPath();
                Files.copy(png, SCREENSHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        WebDriverWait waitUpTo(int seconds) {
            return new WebDriverWait(driver, Duration.ofSeconds(seconds), Duration.ofMillis(50));
        }

        String barState() {
            WebElement bar = driver.findElement(By.id("cache-bar"));
            return bar.getAttribute("data-used") + "/" + bar.getAttribute("data-cached") + "/"
                    + bar.getAttribute("data-sequences");
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = QUIET_SELENIUM)
    class WithStories260K extends PageTest {
        @LocalServerPort
        int port;

        @org.springframework.beans.factory.annotation.Autowired
        io.kvcache.cache.KvCache cache;

        @DynamicPropertySource
        static void model(DynamicPropertyRegistry registry) {
            registry.add("kvcache.model.path", () -> SharedModels.model("stories260K.gguf").toString());
        }

        @Test
        @SuppressWarnings("unchecked")
        void textStreamsInAndTheOccupancyBarChanges() {
            driver.get("http://localhost:" + port + "/");
            waitUpTo(10).until(d -> d.findElement(By.id("model-info")).getText().contains("layers"));
            waitUpTo(10).until(d -> barState().startsWith("0/0/"));
            assertThat(driver.findElement(By.id("demo-banner")).isDisplayed()).isFalse();
            String barBefore = barState();

            // Record the output's length at every change, and every bar state, as they happen.
            ((JavascriptExecutor) driver).executeScript("""
                    window.__lengths = []; window.__bars = [];
                    const out = document.getElementById('output');
                    new MutationObserver(() => window.__lengths.push(out.textContent.length))
                        .observe(out, {childList: true, characterData: true, subtree: true});
                    const bar = document.getElementById('cache-bar');
                    new MutationObserver(() => window.__bars.push(bar.dataset.used + '/' + bar.dataset.cached))
                        .observe(bar, {attributes: true});
                    """);
            WebElement prompt = driver.findElement(By.id("prompt"));
            prompt.clear();
            prompt.sendKeys("Once upon a time, there was a little dog");
            setValue("max-tokens", "1500");
            setValue("temperature", "0");
            driver.findElement(By.id("generate")).click();

            // While it generates, the bar shows the sequence's blocks in use.
            waitUpTo(10).until(d -> Integer.parseInt(d.findElement(By.id("cache-bar")).getAttribute("data-used")) > 0);
            assertThat(driver.findElement(By.id("cache-sequences")).getText()).isEqualTo("1");
            screenshot("page-generating");
            waitUpTo(120).until(d -> !d.findElement(By.id("stop-reason")).getText().equals("…"));
            // The page polls the occupancy once more when the stream ends; wait for that poll (the
            // bar differs from before: blocks kept as prefix cache) rather than reading the bar at once.
            waitUpTo(10).until(d -> barState().startsWith("0/") && barState().endsWith("/0")
                    && !barState().equals(barBefore));
            screenshot("page-done");

            List<Long> lengths = (List<Long>) ((JavascriptExecutor) driver).executeScript("return window.__lengths;");
            List<Long> distinct = new ArrayList<>(lengths.stream().distinct().toList());
            // Text arrived in many steps, each longer than the one before.
            assertThat(distinct).hasSizeGreaterThan(20);
            assertThat(distinct).isSorted();
            String output = driver.findElement(By.id("output")).getText();
            assertThat(output).startsWith("Once upon a time, there was a little dog");
            assertThat(output.length()).isGreaterThan(200);
            assertThat(driver.findElement(By.id("ttft")).getText()).endsWith("ms");
            assertThat(Double.parseDouble(driver.findElement(By.id("tps")).getText())).isPositive();
            assertThat(driver.findElement(By.id("error")).isDisplayed()).isFalse();

            List<String> bars = (List<String>) ((JavascriptExecutor) driver).executeScript("return window.__bars;");
            // The bar went from empty to the request's blocks in use (under ALWAYS the whole request is
            // reserved at admission) and afterwards to 0 used, the full blocks kept as prefix cache.
            List<Integer> used = bars.stream().map(s -> Integer.parseInt(s.split("/")[0])).toList();
            List<Integer> cached = bars.stream().map(s -> Integer.parseInt(s.split("/")[1])).toList();
            assertThat(used).as("used-block counts seen: " + bars).anyMatch(u -> u > 0);
            assertThat(used.getLast()).as("used blocks after the generation: " + bars).isZero();
            assertThat(cached.getLast()).as("prefix-cached blocks after the generation: " + bars).isPositive();
            assertThat(barState()).startsWith("0/").isNotEqualTo(barBefore);
            assertThat(driver.findElement(By.id("cache-sequences")).getText()).isEqualTo("0");
        }

        @Test
        void stopEndsTheGenerationAndFreesItsSequence() throws InterruptedException {
            driver.get("http://localhost:" + port + "/");
            waitUpTo(10).until(d -> d.findElement(By.id("model-info")).getText().contains("layers"));
            setValue("max-tokens", "2000");
            setValue("temperature", "0");
            driver.findElement(By.id("generate")).click();
            // Stop as soon as the server holds the sequence (the page's occupancy poll can lag behind):
            // the generation (about 2,000 tokens) must still be running when the click lands.
            waitUpTo(10).until(d -> cache.stats().sequences() == 1);
            driver.findElement(By.id("stop-button")).click();
            waitUpTo(10).until(d -> d.findElement(By.id("stop-reason")).getText().equals("stopped"));
            // Aborting the fetch closes the connection; the server cancels and frees the sequence at
            // once. The page shows it at its next occupancy poll, which a loaded machine can delay.
            waitUpTo(10).until(d -> cache.stats().sequences() == 0);
            waitUpTo(30).until(d -> "0".equals(d.findElement(By.id("cache-bar")).getAttribute("data-sequences")));
            int length = driver.findElement(By.id("output")).getText().length();
            Thread.sleep(500);
            assertThat(driver.findElement(By.id("output")).getText()).hasSize(length);
            // Stopped before the end; on a loaded machine possibly before the first token reached the page.
            assertThat(Integer.parseInt(driver.findElement(By.id("token-count")).getText())).isBetween(0, 1999);
            assertThat(driver.findElement(By.id("generate")).isEnabled()).isTrue();
        }

        void setValue(String id, String value) {
            WebElement input = driver.findElement(By.id(id));
            input.clear();
            input.sendKeys(value);
        }
    }

    @Nested
    @SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = QUIET_SELENIUM)
    class WithTheDemoModel extends PageTest {
        @LocalServerPort
        int port;

        @Test
        void theDemoBannerSaysTheWeightsAreRandom() {
            driver.get("http://localhost:" + port + "/");
            waitUpTo(10).until(d -> d.findElement(By.id("demo-banner")).isDisplayed());
            assertThat(driver.findElement(By.id("demo-banner")).getText())
                    .contains("demo weights: output is random; set kvcache.model.path to a GGUF file");
            driver.findElement(By.id("generate")).click();
            waitUpTo(60).until(d -> !d.findElement(By.id("stop-reason")).getText().equals("…"));
            assertThat(driver.findElement(By.id("stop-reason")).getText()).isIn("max tokens", "end of generation");
            screenshot("page-demo-model");
        }
    }

}
