package io.kvcache.bench;

import com.github.tjake.jlama.safetensors.DType;
import com.github.tjake.jlama.safetensors.SafeTensorSupport;
import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufTensorInfo;
import io.kvcache.model.ModelConfig;
import io.kvcache.tensor.WeightMatrix;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import tools.jackson.databind.json.JsonMapper;

/**
 * Turns a benchmark GGUF model into a model directory Jlama loads (Hugging Face layout:
 * {@code config.json}, {@code tokenizer.json}, {@code model.safetensors}), holding the same weights.
 *
 * <p>Jlama 0.8.4 reads safetensors only, and its products take F32, BF16 or its own Q4 weights. So:
 * F32 models are written as they are; Q4_0 models are dequantized to F32 and quantized again by
 * Jlama's own quantizer ({@link SafeTensorSupport#quantizeModel}) into its Q4 format, which has the
 * same shape as Q4_0 (blocks of 32 four-bit values with one scale); other types have no Jlama
 * counterpart ({@link #jlamaType} is empty). The query and key rows are reordered from GGUF's
 * interleaved rotary pairs back to the halves that Hugging Face models, and Jlama, rotate: the
 * inverse of the permutation llama.cpp's converter applies. Jlama keeps the output projection in
 * F32 whatever the file holds (its loader does so). The tokenizer file only lets Jlama load: the
 * benchmark feeds token ids, so its entries are placeholders with the model's vocabulary size.
 *
 * <p>Not thread-safe: one writer per directory.
 */
final class JlamaModelFiles {
    private static final JsonMapper MAPPER = JsonMapper.builder().build();
    /** Written last: a directory without it (an interrupted export) is written again. */
    static final String SOURCE_MARKER = "kvcache-source.txt";

    private JlamaModelFiles() {
    }

    /** The Jlama weight type that matches {@code type}, if Jlama has kernels for one. */
    static Optional<DType> jlamaType(GgmlType type) {
        return switch (type) {
            case F32 -> Optional.of(DType.F32);
            case Q4_0 -> Optional.of(DType.Q4);
            default -> Optional.empty();
        };
    }

    /**
     * The Jlama directory for {@code gguf}, written next to it ({@code <name>-jlama}) unless it is
     * there already for this very file (same size and modification time).
     *
     * @throws IllegalArgumentException when the weights have no Jlama counterpart
     * @throws UncheckedIOException when the directory cannot be written
     */
    static Path ensure(Path gguf, GgmlType weightType) {
        DType target = jlamaType(weightType).orElseThrow(() -> new IllegalArgumentException(
                "Jlama has no kernels for " + weightType + " weights (its products take F32, BF16 or Q4)"));
        String name = gguf.getFileName().toString().replaceFirst("\\.gguf$", "");
        Path dir = gguf.resolveSibling(name + "-jlama");
        try {
            String source = sourceDescription(gguf);
            Path marker = dir.resolve(SOURCE_MARKER);
            if (Files.exists(marker) && Files.readString(marker).equals(source)) {
                return dir;
            }
            deleteRecursively(dir);
            if (target == DType.F32) {
                writeF32(gguf, dir);
            } else {
                Path f32 = gguf.resolveSibling(name + "-jlama-f32.tmp");
                deleteRecursively(f32);
                writeF32(gguf, f32);
                try {
                    SafeTensorSupport.quantizeModel(f32, target, new String[] {"embed_tokens", "lm_head", "norm"}, null,
                            Optional.of(dir));
                } finally {
                    deleteRecursively(f32);
                }
            }
            Files.writeString(marker, source);
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the Jlama copy of " + gguf + " to " + dir + ": " + e.getMessage(),
                    e);
        }
    }

    private static String sourceDescription(Path gguf) throws IOException {
        return gguf.getFileName() + " " + Files.size(gguf) + " " + Files.getLastModifiedTime(gguf).toMillis();
    }

    /** Writes {@code gguf}'s weights as F32 safetensors with the configuration and tokenizer files. */
    static void writeF32(Path gguf, Path dir) throws IOException {
        Files.createDirectories(dir);
        try (GgufFile file = GgufFile.open(gguf)) {
            ModelConfig c = ModelConfig.from(file);
            Map<String, GgufTensorInfo> tensors = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : tensorNames(c.layers()).entrySet()) {
                GgufTensorInfo info = file.tensor(e.getKey());
                if (info != null) {
                    tensors.put(e.getValue(), info);
                }
            }
            writeSafetensors(file, c, tensors, dir.resolve("model.safetensors"));
            Files.writeString(dir.resolve("config.json"), MAPPER.writeValueAsString(config(c)));
            Files.writeString(dir.resolve("tokenizer.json"), MAPPER.writeValueAsString(tokenizer(c.vocabularySize())));
            Files.writeString(dir.resolve("README.md"), "Written by kvcache-bench from " + gguf.getFileName()
                    + " (same weights) so that Jlama can be measured on it.\n");
        }
    }

    /** GGUF tensor names to Hugging Face Llama names. */
    static Map<String, String> tensorNames(int layers) {
        Map<String, String> names = new LinkedHashMap<>();
        names.put("token_embd.weight", "model.embed_tokens.weight");
        for (int i = 0; i < layers; i++) {
            String g = "blk." + i + ".";
            String h = "model.layers." + i + ".";
            names.put(g + "attn_norm.weight", h + "input_layernorm.weight");
            names.put(g + "attn_q.weight", h + "self_attn.q_proj.weight");
            names.put(g + "attn_k.weight", h + "self_attn.k_proj.weight");
            names.put(g + "attn_v.weight", h + "self_attn.v_proj.weight");
            names.put(g + "attn_output.weight", h + "self_attn.o_proj.weight");
            names.put(g + "ffn_norm.weight", h + "post_attention_layernorm.weight");
            names.put(g + "ffn_gate.weight", h + "mlp.gate_proj.weight");
            names.put(g + "ffn_up.weight", h + "mlp.up_proj.weight");
            names.put(g + "ffn_down.weight", h + "mlp.down_proj.weight");
        }
        names.put("output_norm.weight", "model.norm.weight");
        names.put("output.weight", "lm_head.weight");
        return names;
    }

    /**
     * The GGUF row that holds Hugging Face row {@code row} of a query or key projection with
     * {@code heads} heads of {@code headDim} rows: within a head, HF row {@code half * headDim / 2 + i}
     * is GGUF row {@code 2 * i + half}.
     */
    static int ggufRow(int row, int headDim) {
        int head = row / headDim;
        int j = row % headDim;
        int half = j / (headDim / 2);
        int i = j % (headDim / 2);
        return head * headDim + 2 * i + half;
    }

    private static void writeSafetensors(GgufFile file, ModelConfig c, Map<String, GgufTensorInfo> tensors, Path target)
            throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, GgufTensorInfo> e : tensors.entrySet()) {
            GgufTensorInfo info = e.getValue();
            long cols = info.dim(0);
            long rows = info.rank() > 1 ? info.dim(1) : 1;
            long bytes = rows * cols * Float.BYTES;
            header.put(e.getKey(), Map.of("dtype", "F32",
                    "shape", info.rank() > 1 ? List.of(rows, cols) : List.of(cols),
                    "data_offsets", List.of(offset, offset + bytes)));
            offset += bytes;
        }
        StringBuilder json = new StringBuilder(MAPPER.writeValueAsString(header));
        while (json.length() % 8 != 0) {
            json.append(' '); // the format pads the header with spaces to keep the data 8-byte aligned
        }
        byte[] headerBytes = json.toString().getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(ch, ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length)
                    .flip());
            writeFully(ch, ByteBuffer.wrap(headerBytes));
            for (GgufTensorInfo info : tensors.values()) {
                WeightMatrix w = WeightMatrix.of(file, info);
                int headDim = info.name().endsWith("attn_q.weight") || info.name().endsWith("attn_k.weight")
                        ? c.headDim() : 0;
                float[] row = new float[w.cols()];
                ByteBuffer buf = ByteBuffer.allocate(w.cols() * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                for (int r = 0; r < w.rows(); r++) {
                    w.dequantizeRow(headDim > 0 ? ggufRow(r, headDim) : r, row, 0);
                    buf.clear();
                    buf.asFloatBuffer().put(row);
                    writeFully(ch, buf);
                }
            }
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static Map<String, Object> config(ModelConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model_type", "llama");
        m.put("architectures", List.of("LlamaForCausalLM"));
        m.put("max_position_embeddings", c.contextLength());
        m.put("hidden_size", c.embeddingLength());
        m.put("intermediate_size", c.feedForwardLength());
        m.put("num_attention_heads", c.heads());
        m.put("num_key_value_heads", c.kvHeads());
        m.put("num_hidden_layers", c.layers());
        m.put("rms_norm_eps", c.rmsEpsilon());
        m.put("vocab_size", c.vocabularySize());
        m.put("bos_token_id", 1);
        m.put("eos_token_id", 2);
        m.put("hidden_act", "silu");
        m.put("rope_theta", c.ropeBase());
        m.put("tie_word_embeddings", false);
        return m;
    }

    /** A byte-fallback BPE vocabulary of placeholders: Jlama needs one to load, the benchmark never uses it. */
    private static Map<String, Object> tokenizer(int vocabularySize) {
        Map<String, Long> vocab = new LinkedHashMap<>();
        for (int id = 0; id < vocabularySize; id++) {
            String piece = id == 0 ? "<unk>" : id == 1 ? "<s>" : id == 2 ? "</s>"
                    : id < 3 + 256 ? String.format("<0x%02X>", id - 3) : "<t" + id + ">";
            vocab.put(piece, (long) id);
        }
        Map<String, Object> model = new LinkedHashMap<>();
        model.put("type", "BPE");
        model.put("unk_token", "<unk>");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("vocab", vocab);
        model.put("merges", List.of());
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("added_tokens", List.of());
        root.put("model", model);
        return root;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        List<Path> paths;
        try (Stream<Path> walk = Files.walk(dir)) {
            paths = new ArrayList<>(walk.sorted(Comparator.reverseOrder()).toList());
        }
        for (Path p : paths) {
            Files.delete(p);
        }
    }
}
