package io.kvcache.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.KvElementType;
import io.kvcache.gguf.GgmlType;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class BenchCommandTest {

    private static Bench parse(String... args) {
        Bench bench = new Bench();
        new CommandLine(bench).setCaseInsensitiveEnumValuesAllowed(true).parseArgs(args);
        return bench;
    }

    @Test
    void quickRunsTheThreeSmallModels() {
        Bench bench = parse("--quick", "--kv-type", "q8_0", "--models", "bench-110m-q8_0,bench-110m-f32");
        assertTrue(bench.quick);
        assertEquals(KvElementType.Q8_0, bench.kvType);
        assertEquals(List.of("bench-110m-q8_0", "bench-110m-f32"), bench.onlyModels);
        assertEquals(List.of("bench-110m-f32", "bench-110m-q8_0", "bench-110m-q4_0"),
                bench.models().stream().map(BenchModel::name).toList());
    }

    @Test
    void eachModelRunsInAChildJvmWithTheSameOptions() {
        Bench parent = parse("--quick", "--kv-type", "q8_0", "--threads", "3", "--skip-llama-cpp");
        assertFalse(parent.sameJvm);
        Bench child = parse(parent.childArguments("bench-110m-q4_0").toArray(String[]::new));
        assertTrue(child.child);
        assertTrue(child.quick);
        assertTrue(child.skipLlamaCpp);
        assertFalse(child.skipCacheBenchmarks);
        assertEquals(3, child.threads);
        assertEquals(KvElementType.Q8_0, child.kvType);
        assertEquals(List.of("bench-110m-q4_0"), child.onlyModels);
        assertEquals(parent.cacheModel, child.cacheModel);
        assertTrue(parse("--same-jvm").sameJvm);
        assertFalse(child.skipJlama);
        assertFalse(child.jlamaOnly);
        assertTrue(parse(parse("--skip-jlama").childArguments("m").toArray(String[]::new)).skipJlama);
    }

    @Test
    void fullRunAddsTheGqaModelAndSmokeRunsTwoLayers() {
        Bench full = parse();
        assertFalse(full.quick);
        assertEquals(KvElementType.F16, full.kvType, "llama.cpp's default K/V type");
        List<BenchModel> models = full.models();
        assertEquals("bench-gqa-1b-q8_0", models.getLast().name());
        assertEquals(8, models.getLast().kvHeads());
        assertEquals(64, models.getLast().headDim());

        List<BenchModel> smoke = parse("--smoke").models();
        assertEquals(3, smoke.size());
        assertTrue(smoke.stream().allMatch(m -> m.layers() == 2 && m.name().startsWith("smoke-110m-")));
    }

    @Test
    void plansAndModelShapes() {
        Bench.Plan quick = Bench.Plan.of(true);
        Bench.Plan full = Bench.Plan.of(false);
        assertTrue(quick.promptReps() < full.promptReps() && quick.decodeRuns() <= full.decodeRuns());
        assertEquals(8, quick.concurrency()[quick.concurrency().length - 1]);
        BenchModel m = BenchModel.bench110m(GgmlType.Q4_0);
        assertEquals("bench-110m-q4_0", m.name());
        // Embedding and output 32000 x 768 each; per layer Q, K, V, O 768 x 768 and three 768 x 2048.
        assertEquals(2L * 32_000 * 768 + 12L * (4L * 768 * 768 + 3L * 768 * 2048), m.parameters());
    }
}
