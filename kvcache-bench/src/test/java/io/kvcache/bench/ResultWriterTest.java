package io.kvcache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ResultWriterTest {
    private static final String Q8 = "bench-110m-q8_0";
    private static final String F32 = "bench-110m-f32";

    private static List<BenchRecord> sample() {
        return List.of(
                BenchRecord.throughput(BenchRecord.KVCACHE, Q8, "tg128", 20.0).with("alloc_bytes_per_token", 2048L),
                BenchRecord.throughput(BenchRecord.LLAMA_CPP, Q8, "tg128", 40.0),
                BenchRecord.throughput(BenchRecord.KVCACHE, F32, "tg128", 9.5),
                BenchRecord.throughput(BenchRecord.LLAMA_CPP, F32, "tg128", 10.0),
                BenchRecord.throughput(BenchRecord.KVCACHE, Q8, "pp512", 100.0),
                BenchRecord.failure(BenchRecord.LLAMA_CPP, Q8, "pp512", "LlamaException: boom | bad"),
                BenchRecord.figure(BenchRecord.KVCACHE, Q8, "cache_speedup@d1024", 75.0, "x", 50.0),
                BenchRecord.figure(BenchRecord.KVCACHE, Q8, "prefix_hit_ttft_speedup@1000", 12.0, "x", 20.0),
                BenchRecord.failure(BenchRecord.JLAMA, Q8, "*", "not comparable: no Q8_0 kernels"),
                BenchRecord.throughput(BenchRecord.JLAMA, F32, "tg128", 5.0));
    }

    /** A child JVM's results.json reads back as the records it wrote, ratios left for the merged run. */
    @Test
    void recordsReadBackFromTheirJson() {
        List<BenchRecord> read = ModelProcess.read(ResultWriter.json(Results.withRatios(sample())));
        assertEquals(sample().size(), read.size());
        for (int i = 0; i < read.size(); i++) {
            BenchRecord expected = sample().get(i);
            BenchRecord got = read.get(i);
            assertEquals(expected.engine(), got.engine());
            assertEquals(expected.model(), got.model());
            assertEquals(expected.test(), got.test());
            assertEquals(expected.tokensPerSecond(), got.tokensPerSecond());
            assertEquals(expected.value(), got.value());
            assertEquals(expected.unit(), got.unit());
            assertEquals(expected.error(), got.error());
            assertFalse(got.extras().containsKey(Results.RATIO), got.toString());
            assertFalse(got.extras().containsKey(Results.RATIO_JLAMA), got.toString());
        }
        assertEquals(2048L, ((Number) read.get(0).extras().get("alloc_bytes_per_token")).longValue());
        assertEquals(50.0, read.get(6).target());
        assertEquals(Results.withRatios(sample()).get(0).extras().get(Results.RATIO),
                Results.withRatios(read).get(0).extras().get(Results.RATIO), "the merged run recomputes the ratio");
    }

    @Test
    void ratiosAndTargetsFollowTheModelType() {
        List<BenchRecord> rated = Results.withRatios(sample());
        BenchRecord q8 = rated.get(0);
        assertEquals(0.5, q8.extras().get(Results.RATIO));
        assertEquals(Results.DECODE_TARGET, q8.target());
        assertEquals(Boolean.FALSE, Results.meetsTarget(q8));
        BenchRecord f32 = rated.get(2);
        assertEquals(0.95, f32.extras().get(Results.RATIO));
        assertEquals(Results.DECODE_TARGET_F32, f32.target());
        assertEquals(Boolean.TRUE, Results.meetsTarget(f32));
        assertEquals(1.9, f32.extras().get(Results.RATIO_JLAMA), "kvcache 9.5 against Jlama 5.0");
        assertFalse(q8.extras().containsKey(Results.RATIO_JLAMA), "Jlama did not run Q8_0");
        // llama.cpp failed on pp512: no ratio, no verdict.
        BenchRecord pp = rated.get(4);
        assertFalse(pp.extras().containsKey(Results.RATIO));
        assertNull(Results.meetsTarget(pp));
        assertEquals(Boolean.TRUE, Results.meetsTarget(rated.get(6)));
        assertEquals(Boolean.FALSE, Results.meetsTarget(rated.get(7)));
        assertNull(Results.targetRatio(Q8, "pp128"));
        assertEquals(Results.PP512_TARGET, Results.targetRatio(Q8, "pp512"));
    }

    @Test
    void writesJsonMarkdownAndChart(@TempDir Path dir) throws Exception {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("cpu", "test cpu");
        ResultWriter.write(dir, sample(), env);

        JsonNode json = JsonMapper.builder().build().readTree(Files.readString(dir.resolve(ResultWriter.JSON)));
        assertTrue(json.isArray());
        assertEquals(sample().size(), json.size());
        JsonNode first = json.get(0);
        assertEquals("kvcache", first.get("engine").asString());
        assertEquals(Q8, first.get("model").asString());
        assertEquals("tg128", first.get("test").asString());
        assertEquals(20.0, first.get("tokens_per_second").asDouble());
        assertEquals(0.5, first.get("ratio_to_llama_cpp").asDouble());
        assertEquals(2048L, first.get("alloc_bytes_per_token").asLong());
        assertFalse(first.has("error"), "absent fields are left out, not null");
        assertEquals("LlamaException: boom | bad", json.get(5).get("error").asString());

        String md = Files.readString(dir.resolve(ResultWriter.MARKDOWN));
        assertTrue(md.contains("- **cpu**: test cpu"), md);
        assertTrue(md.contains("| bench-110m-q8_0 | tg128 | 20.0 | 40.0 | 0.50x | >= 1.00x | **no** | 2.00 |"), md);
        assertTrue(md.contains("| bench-110m-f32 | tg128 | 9.50 | 10.0 | 0.95x | >= 0.90x | yes | - |"), md);
        assertTrue(md.contains("| bench-110m-q8_0 | pp512 | 100 | error | - | >= 0.80x | - | - |"), md);
        assertTrue(md.contains("| bench-110m-q8_0 | cache_speedup@d1024 | 75.0x | >= 50.0x | yes |"), md);
        assertTrue(md.contains("- jlama, bench-110m-q8_0, *: not comparable: no Q8_0 kernels"), md);
        assertTrue(md.contains("## Throughput against Jlama"), md);
        assertTrue(md.contains("| bench-110m-f32 | tg128 | 9.50 | 5.00 | 1.90x |"), md);
        assertFalse(md.contains("| bench-110m-q8_0 | tg128 | 20.0 | -"), "only models Jlama ran: " + md);

        byte[] png = Files.readAllBytes(dir.resolve(ResultWriter.CHART));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
        BufferedImage image = ImageIO.read(dir.resolve(ResultWriter.CHART).toFile());
        assertEquals(ResultWriter.CHART_WIDTH, image.getWidth());
        assertEquals(3 * ResultWriter.CHART_HEIGHT, image.getHeight(), "three charts stacked");
    }

    @Test
    void throughputTestNames() {
        assertTrue(ResultWriter.isThroughputTest("pp512"));
        assertTrue(ResultWriter.isThroughputTest("tg128@d1024"));
        assertFalse(ResultWriter.isThroughputTest("concurrent_decode x8"));
        assertFalse(ResultWriter.isThroughputTest("kv_bytes_per_token[F16]"));
        assertEquals(8, Bench.depthOf("tg128"));
        assertEquals(512, Bench.depthOf("tg128@d512"));
    }
}
