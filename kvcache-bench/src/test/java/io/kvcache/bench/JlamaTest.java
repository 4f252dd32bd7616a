package io.kvcache.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.gguf.GgmlType;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.InferenceEngine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Jlama copy of a benchmark model holds the same model: Jlama's greedy tokens are kvcache's. */
class JlamaTest {
    /** Grouped-query attention (4 query heads, 2 KV heads) so that the Q and K reordering both count. */
    private static final BenchModel TINY_F32 = new BenchModel("tiny", 2, 128, 4, 2, 256, 512, 256, GgmlType.F32);
    private static final int THREADS = 1;

    @TempDir
    static Path dir;

    @Test
    void queryAndKeyRowsReturnFromInterleavedPairsToHalves() {
        // One head of 4: HF rows (x0, x1 | y0, y1) are GGUF's (x0, y0, x1, y1).
        assertArrayEquals(new int[] {0, 2, 1, 3, 4, 6, 5, 7},
                java.util.stream.IntStream.range(0, 8).map(r -> JlamaModelFiles.ggufRow(r, 4)).toArray());
        Set<Integer> seen = new HashSet<>();
        for (int r = 0; r < 6 * 64; r++) {
            int g = JlamaModelFiles.ggufRow(r, 64);
            assertEquals(r / 64, g / 64, "stays in its head");
            assertTrue(seen.add(g), "a permutation");
        }
    }

    @Test
    void jlamaGeneratesTheSameGreedyTokensAsKvcacheOnTheSameWeights() {
        Path gguf = new ModelFiles(dir, null).ensure(TINY_F32);
        Path jlamaDir = JlamaModelFiles.ensure(gguf, GgmlType.F32);
        int[] prompt = {1, 17, 300, 42, 99, 5, 260, 7};
        int[] expected = kvcacheGreedy(gguf, prompt, 12);
        try (JlamaRunner jlama = JlamaRunner.load(jlamaDir, THREADS)) {
            assertArrayEquals(expected, jlama.greedy(prompt, 12));
            assertTrue(jlama.promptThroughput(prompt, 2) > 0);
            assertTrue(jlama.decode(prompt, 4) > 0);
        }
    }

    @Test
    void q4_0IsRequantizedByJlamaAndWrittenOnce() throws Exception {
        BenchModel q4 = new BenchModel("tiny", 2, 128, 4, 2, 256, 512, 256, GgmlType.Q4_0);
        Path gguf = new ModelFiles(dir, null).ensure(q4);
        Path jlamaDir = JlamaModelFiles.ensure(gguf, GgmlType.Q4_0);
        Path weights = jlamaDir.resolve("model.safetensors");
        String header = safetensorsHeader(weights);
        assertTrue(header.contains("\"model.layers.0.self_attn.q_proj.weight\":{\"dtype\":\"Q4\""), header);
        assertTrue(header.contains("\"model.layers.0.self_attn.q_proj.weight.qb\""), "Q4 scales: " + header);
        assertTrue(header.contains("\"model.embed_tokens.weight\":{\"dtype\":\"F32\""), header);
        assertTrue(Files.list(dir).noneMatch(p -> p.getFileName().toString().endsWith(".tmp")),
                "the F32 intermediate is removed");

        FileTime written = Files.getLastModifiedTime(weights);
        assertEquals(jlamaDir, JlamaModelFiles.ensure(gguf, GgmlType.Q4_0));
        assertEquals(written, Files.getLastModifiedTime(weights), "an up-to-date copy is not written again");

        try (JlamaRunner jlama = JlamaRunner.load(jlamaDir, THREADS)) {
            int[] tokens = jlama.greedy(new int[] {1, 2, 3, 4}, 4);
            for (int t : tokens) {
                assertTrue(t >= 0 && t < 512, "token " + t);
            }
        }
    }

    @Test
    void weightTypesWithoutJlamaKernelsAreRefused() {
        assertTrue(JlamaModelFiles.jlamaType(GgmlType.Q8_0).isEmpty());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JlamaModelFiles.ensure(dir.resolve("x.gguf"), GgmlType.Q8_0));
        assertTrue(e.getMessage().contains("Q8_0"), e.getMessage());
    }

    @Test
    void anotherThreadCountInTheSameJvmIsRefused() {
        Path gguf = new ModelFiles(dir, null).ensure(TINY_F32);
        Path jlamaDir = JlamaModelFiles.ensure(gguf, GgmlType.F32);
        JlamaRunner.load(jlamaDir, THREADS).close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> JlamaRunner.load(jlamaDir, 2));
        assertTrue(e.getMessage().contains("sized once per JVM"), e.getMessage());
    }

    private static int[] kvcacheGreedy(Path gguf, int[] prompt, int count) {
        try (InferenceEngine engine = InferenceEngine.load(gguf, new EngineOptions(THREADS));
             KvCache cache = KvCache.builder(engine.kvCacheSpec(TINY_F32.contextLength(), KvElementType.F32)).build();
             KvSequence seq = cache.newSequence()) {
            int[] out = new int[count];
            float[] logits = engine.forward(seq, prompt);
            for (int i = 0; i < count; i++) {
                out[i] = Stats.argmax(logits);
                logits = engine.forward(seq, new int[] {out[i]});
            }
            return out;
        }
    }

    private static String safetensorsHeader(Path file) throws Exception {
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            java.nio.ByteBuffer len = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate((int) len.getLong(0));
            ch.read(header, 8);
            return new String(header.array(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }
}
