package io.kvcache.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.testing.SharedModels;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class GgufFileTest {

    @Test
    void readsStories260K() {
        try (GgufFile f = GgufFile.open(SharedModels.model("stories260K.gguf"))) {
            assertEquals(3, f.version());
            assertEquals(19, f.metadata().size());
            assertEquals(48, f.tensors().size());
            GgufMetadata m = f.metadata();
            assertEquals("llama", m.getString("general.architecture"));
            assertEquals(64, m.getInt("llama.embedding_length"));
            assertEquals(5, m.getInt("llama.block_count"));
            assertEquals(4, m.getInt("llama.attention.head_count_kv"));
            assertEquals(512, m.getArray("tokenizer.ggml.tokens").length());
            assertEquals(32, f.alignment());
            GgufTensorInfo emb = f.tensor("token_embd.weight");
            assertNotNull(emb);
            assertEquals(GgmlType.F32, emb.type());
            assertEquals(64, emb.dim(0));
            assertEquals(512, emb.dim(1));
            assertEquals(64L * 512 * 4, f.tensorData(emb).byteSize());
            for (GgufTensorInfo t : f.tensors()) {
                assertEquals(0, (f.dataOffset() + t.offset()) % f.alignment(), t.name());
            }
        }
    }

    @Test
    void readsQ8AndF16Models() {
        try (GgufFile f = GgufFile.open(SharedModels.model("TinyStories-656K-Q8_0.gguf"))) {
            assertEquals(34, f.metadata().size());
            assertEquals(20, f.tensors().size());
            assertEquals(15, f.tensors().stream().filter(t -> t.type() == GgmlType.Q8_0).count());
            assertFalse(f.hasTensor("output.weight"));
        }
        try (GgufFile f = GgufFile.open(SharedModels.model("TinyStories-656K-F16.gguf"))) {
            assertEquals(15, f.tensors().stream().filter(t -> t.type() == GgmlType.F16).count());
        }
    }

    @Test
    void readsVocabularyOnlyFiles() {
        try (GgufFile f = GgufFile.open(SharedModels.model("vocab/ggml-vocab-gpt-2.gguf"))) {
            assertEquals(0, f.tensors().size());
            assertEquals("gpt2", f.metadata().getString("tokenizer.ggml.model"));
            assertEquals(50257, f.metadata().getArray("tokenizer.ggml.tokens").length());
            assertEquals(50000, f.metadata().getArray("tokenizer.ggml.merges").length());
        }
    }

    @Test
    void truncatedFileFailsWithOffset() throws Exception {
        byte[] all = Files.readAllBytes(SharedModels.model("stories260K.gguf"));
        for (int cut : new int[] {0, 3, 7, 15, 23, 100, 5000, all.length - 1}) {
            byte[] part = java.util.Arrays.copyOf(all, cut);
            GgufFormatException e = assertThrows(GgufFormatException.class, () -> GgufFile.read(part));
            assertTrue(e.getMessage().contains("byte offset") || cut < 4, e.getMessage());
        }
    }

    @Test
    void missingFileNamesThePath(@org.junit.jupiter.api.io.TempDir Path dir) {
        Path missing = dir.resolve("nope.gguf");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> GgufFile.open(missing));
        assertTrue(e.getMessage().contains("nope.gguf"), e.getMessage());
    }
}
