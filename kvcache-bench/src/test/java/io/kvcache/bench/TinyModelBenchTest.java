package io.kvcache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.KvElementType;
import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The measurement machinery on a 2-layer model small enough to run in milliseconds. */
class TinyModelBenchTest {
    private static final BenchModel TINY = new BenchModel("tiny", 2, 128, 4, 2, 128, 512, 256, GgmlType.Q8_0);

    @TempDir
    static Path dir;
    static InferenceEngine engine;
    static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        Path file = new ModelFiles(dir, null).ensure(TINY);
        engine = InferenceEngine.load(file, new EngineOptions(1));
        tokenizer = engine.tokenizer();
    }

    @AfterAll
    static void close() {
        engine.close();
    }

    @Test
    void promptsHaveTheExactTokenCount() {
        Prompts.Prompt p = Prompts.ofLength(tokenizer, 20);
        assertEquals(20, p.length());
        assertEquals(tokenizer.bosId(), p.ids()[0]);
        assertEquals(19, p.text().split(" ").length);
        assertEquals(20, tokenizer.encode(p.text()).length, "the text alone gives the same tokens");
        assertThrows(IllegalArgumentException.class, () -> Prompts.ofLength(tokenizer, 1));
    }

    @Test
    void promptAndDecodeThroughput() {
        try (KvcacheRunner runner = new KvcacheRunner(engine, TINY.contextLength(), KvElementType.F16)) {
            int[] prompt = Prompts.ofLength(tokenizer, 16).ids();
            double pp = runner.promptThroughput(prompt, 3);
            assertTrue(pp > 0 && Double.isFinite(pp), "pp " + pp);
            KvcacheRunner.Decode tg = runner.decode(prompt, 8);
            assertEquals(8, tg.steps());
            assertTrue(tg.tokensPerSecond() > 0 && Double.isFinite(tg.tokensPerSecond()));
            assertTrue(tg.allocatedBytesPerToken() >= -1);
            // Decoding past the context fails loudly instead of measuring garbage.
            assertThrows(RuntimeException.class, () -> runner.decode(prompt, TINY.contextLength()));
        }
    }

    @Test
    void cacheBenchmarks() {
        CacheBenchmarks cache = new CacheBenchmarks(engine, TINY.name(), KvElementType.F32, TINY.contextLength());
        List<BenchRecord> recompute = cache.recomputeAtDepth(Prompts.ofLength(tokenizer, 40).ids(), 1, 1000);
        assertEquals(2, recompute.size());
        assertEquals("cache_speedup@d40", recompute.get(1).test());
        double recomputeRate = recompute.get(0).tokensPerSecond();
        assertTrue(recomputeRate > 0);
        assertEquals(Results.round(1000 / recomputeRate, 1), recompute.get(1).value(), 1e-9);

        int[] prefix = Prompts.ofLength(tokenizer, 40).ids();
        List<BenchRecord> ttft = cache.prefixHitTimeToFirstToken(prefix, List.of(Prompts.tail(tokenizer, " once upon a time"),
                Prompts.tail(tokenizer, " she said"), Prompts.tail(tokenizer, " he went to the tree")));
        assertEquals(3, ttft.size());
        assertEquals(0, ttft.get(0).extras().get("cached_prompt_tokens"), "the cold request starts from an empty cache");
        // 40 prefix tokens fill two blocks of 16: those are attached, the rest is computed, in every hit.
        assertEquals(32, ttft.get(1).extras().get("cached_prompt_tokens"));
        assertEquals(2, ttft.get(1).extras().get("reps"));
        assertThrows(IllegalArgumentException.class, () -> cache.prefixHitTimeToFirstToken(prefix, List.of(prefix)));

        List<BenchRecord> concurrent = cache.concurrentDecode(Prompts.ofLength(tokenizer, 8).ids(), 4, new int[] {1, 2});
        assertEquals(3, concurrent.size());
        assertEquals("concurrency_scaling x2/x1", concurrent.get(2).test());
        assertTrue(concurrent.get(0).tokensPerSecond() > 0);
        long tokens = (Long) concurrent.get(0).extras().get("tokens");
        assertTrue(tokens >= 1 && tokens <= 4, "one generation of at most 4 tokens: " + tokens);
        long pair = (Long) concurrent.get(1).extras().get("tokens");
        assertTrue(pair >= 2 && pair <= 8, "two generations of at most 4 tokens each: " + pair);

        List<BenchRecord> bytes = cache.bytesPerToken(40);
        assertEquals(KvElementType.values().length, bytes.size());
        for (BenchRecord r : bytes) {
            long theory = (Long) r.extras().get("theory_bytes_per_token");
            // 40 positions occupy 3 blocks of 16 = 48 positions.
            assertEquals(theory * 48 / 40.0, r.value(), 0.05, r.toString());
            assertEquals(1.2, (Double) r.extras().get("used_over_theory"), 1e-9);
        }
    }

    @Test
    void modelFilesAreReusedAndRebuiltWhenCut(@TempDir Path other) throws Exception {
        ModelFiles files = new ModelFiles(other, null);
        Path file = files.ensure(TINY);
        assertTrue(ModelFiles.matches(file, TINY));
        FileTime written = FileTime.fromMillis(1_000_000L);
        Files.setLastModifiedTime(file, written);
        assertEquals(file, files.ensure(TINY));
        assertEquals(written, Files.getLastModifiedTime(file), "a complete file is reused");

        BenchModel otherType = new BenchModel("tiny", 2, 128, 4, 2, 128, 512, 256, GgmlType.Q4_0);
        assertTrue(!ModelFiles.matches(file, otherType), "a file of another weight type does not match");

        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertTrue(!ModelFiles.matches(file, TINY));
        files.ensure(TINY);
        assertEquals(bytes.length, Files.size(file));
        assertNotEquals(written, Files.getLastModifiedTime(file));
        try (GgufFile gguf = GgufFile.open(file)) {
            assertEquals("tiny-q8_0", gguf.metadata().getString("general.name"));
        }
    }
}
