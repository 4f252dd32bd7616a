package io.kvcache.bench;

import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufMetadata;
import io.kvcache.gguf.GgufTensorInfo;
import io.kvcache.model.ModelConfig;
import io.kvcache.model.SyntheticModel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Writes the synthetic benchmark models once and reuses them: a file is reused when it opens as
 * GGUF, has the model's shape and weight type, and is exactly as long as its tensors need (so a
 * file cut short by an interrupted run is rebuilt). New files are written under a temporary name
 * and moved into place.
 *
 * <p>Thread-safe as long as no two instances write the same directory at once.
 */
public final class ModelFiles {
    private final Path directory;
    private final @Nullable GgufMetadata vocabulary;

    /**
     * @param directory where model files live
     * @param vocabulary metadata whose {@code tokenizer.*} keys are copied into every model (a real
     *     Llama vocabulary, so that llama.cpp and kvcache tokenize prompts alike), or null for the
     *     synthetic default vocabulary
     */
    public ModelFiles(Path directory, @Nullable GgufMetadata vocabulary) {
        this.directory = directory;
        this.vocabulary = vocabulary;
    }

    /** The Llama SentencePiece vocabulary under {@code shared/models/vocab}, when the file is there. */
    public static Optional<Path> findLlamaVocabulary() {
        String prop = System.getProperty("kvcache.bench.vocab");
        if (prop != null && !prop.isBlank()) {
            return Optional.of(Path.of(prop)).filter(Files::isRegularFile);
        }
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolveSibling("shared").resolve("models/vocab/ggml-vocab-llama-spm.gguf");
            if (Files.isRegularFile(candidate)) {
                return Optional.of(candidate.normalize());
            }
        }
        return Optional.empty();
    }

    /** The file of {@code model}, written first when missing or not matching. */
    public Path ensure(BenchModel model) {
        Path file = directory.resolve(model.name() + ".gguf");
        if (matches(file, model)) {
            return file;
        }
        try {
            Files.createDirectories(directory);
            Path partial = directory.resolve(model.name() + ".gguf.partial");
            builder(model).write(partial);
            Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write benchmark model " + file + ": " + e.getMessage()
                    + " (check free disk space and permissions)", e);
        }
        if (!matches(file, model)) {
            throw new IllegalStateException("benchmark model " + file + " was written but does not read back as "
                    + model + "; delete it and run again");
        }
        return file;
    }

    SyntheticModel.Builder builder(BenchModel model) {
        SyntheticModel.Builder b = SyntheticModel.builder()
                .name(model.name())
                .layers(model.layers())
                .embeddingLength(model.dim())
                .heads(model.heads())
                .kvHeads(model.kvHeads())
                .feedForwardLength(model.ffn())
                .vocabularySize(model.vocab())
                .contextLength(model.contextLength())
                .weightType(model.type())
                .seed(BenchModel.SEED);
        if (vocabulary != null) {
            b.tokenizerFrom(vocabulary);
        }
        return b;
    }

    private static long alignUp(long p, int alignment) {
        return (p + alignment - 1) / alignment * alignment;
    }

    /** Whether {@code file} holds this model completely (tensor data padded to the alignment, as ggml writes). */
    static boolean matches(Path file, BenchModel model) {
        if (!Files.isRegularFile(file)) {
            return false;
        }
        try (GgufFile gguf = GgufFile.open(file)) {
            ModelConfig c = ModelConfig.from(gguf);
            GgufTensorInfo q = gguf.tensor("blk.0.attn_q.weight");
            long end = 0;
            for (GgufTensorInfo t : gguf.tensors()) {
                end = Math.max(end, gguf.dataOffset() + t.offset() + t.byteSize());
            }
            return c.layers() == model.layers() && c.embeddingLength() == model.dim() && c.heads() == model.heads()
                    && c.kvHeads() == model.kvHeads() && c.feedForwardLength() == model.ffn()
                    && c.contextLength() == model.contextLength() && q != null && q.type() == model.type()
                    && (end == gguf.byteSize() || alignUp(end, gguf.alignment()) == gguf.byteSize());
        } catch (RuntimeException e) {
            return false;
        }
    }
}
