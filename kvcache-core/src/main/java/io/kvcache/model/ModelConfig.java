package io.kvcache.model;

import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufFormatException;
import io.kvcache.gguf.GgufMetadata;
import io.kvcache.gguf.GgufTensorInfo;
import java.util.List;

/**
 * Hyper-parameters of a Llama-family model, read from GGUF metadata ({@code <arch>.*} keys).
 * Immutable and thread-safe.
 *
 * @param architecture {@code llama} or {@code qwen2}
 * @param name {@code general.name} or the file name
 * @param contextLength trained context length
 * @param embeddingLength model width
 * @param layers transformer blocks
 * @param feedForwardLength FFN hidden width
 * @param heads query heads
 * @param kvHeads key/value heads (grouped-query attention when fewer than heads)
 * @param headDim dimension of one head
 * @param vocabularySize rows of the token embedding
 * @param rmsEpsilon RMSNorm epsilon
 * @param ropeBase RoPE frequency base (10000 when absent)
 * @param ropeDimensions dimensions of a head that RoPE rotates (head dim when absent)
 * @param ropeType pairing of rotated dimensions
 * @param ropePositionScale positions are multiplied by this: 1 / {@code rope.scaling.factor} for linear
 *     scaling, else 1
 */
public record ModelConfig(String architecture, String name, int contextLength, int embeddingLength, int layers,
        int feedForwardLength, int heads, int kvHeads, int headDim, int vocabularySize, float rmsEpsilon,
        float ropeBase, int ropeDimensions, RopeType ropeType, float ropePositionScale) {

    /** Architectures this engine runs. */
    public static final List<String> SUPPORTED_ARCHITECTURES = List.of("llama", "qwen2");

    public ModelConfig {
        requirePositive("context length", contextLength);
        requirePositive("embedding length", embeddingLength);
        requirePositive("layers", layers);
        requirePositive("feed-forward length", feedForwardLength);
        requirePositive("heads", heads);
        requirePositive("KV heads", kvHeads);
        requirePositive("head dimension", headDim);
        requirePositive("vocabulary size", vocabularySize);
        if ((long) heads * headDim > Integer.MAX_VALUE) {
            throw new UnsupportedModelException("heads (" + heads + ") x head dimension (" + headDim
                    + ") overflows the query width; the model metadata is corrupt");
        }
        if (heads % kvHeads != 0) {
            throw new UnsupportedModelException("heads (" + heads + ") must be a multiple of KV heads (" + kvHeads + ")");
        }
        if (ropeDimensions <= 0 || ropeDimensions > headDim || ropeDimensions % 2 != 0) {
            throw new UnsupportedModelException("RoPE dimension count " + ropeDimensions
                    + " must be even and in 1.." + headDim + " (the head dimension)");
        }
    }

    private static void requirePositive(String what, int v) {
        if (v <= 0) {
            throw new UnsupportedModelException("model " + what + " must be positive, is " + v);
        }
    }

    /** Query width: heads * headDim. */
    public int queryDim() {
        return heads * headDim;
    }

    /** K (or V) width: kvHeads * headDim. */
    public int kvDim() {
        return kvHeads * headDim;
    }

    /** Query heads per KV head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    /** Reads the configuration of a model file; fails with a clear message for other architectures. */
    public static ModelConfig from(GgufFile file) {
        GgufMetadata m = file.metadata();
        String arch = m.optionalString("general.architecture").orElseThrow(() -> new UnsupportedModelException(
                file.name() + " has no general.architecture key; it is not a model file (supported: "
                        + SUPPORTED_ARCHITECTURES + ")"));
        if (!SUPPORTED_ARCHITECTURES.contains(arch)) {
            throw new UnsupportedModelException(file.name() + ": architecture '" + arch
                    + "' is not supported; supported architectures: " + SUPPORTED_ARCHITECTURES);
        }
        try {
            int dim = m.getInt(arch + ".embedding_length");
            int heads = m.getInt(arch + ".attention.head_count");
            int kvHeads = m.getInt(arch + ".attention.head_count_kv", heads);
            int headDim = m.getInt(arch + ".attention.key_length", heads > 0 ? dim / heads : 0);
            int valueLength = m.getInt(arch + ".attention.value_length", headDim);
            if (valueLength != headDim) {
                throw new UnsupportedModelException(file.name() + ": key length " + headDim + " differs from value length "
                        + valueLength + "; only equal lengths are supported");
            }
            GgufTensorInfo embedding = file.tensor("token_embd.weight");
            if (embedding == null) {
                throw new UnsupportedModelException(file.name() + " has no token_embd.weight tensor");
            }
            int vocab = m.getInt(arch + ".vocab_size", Math.toIntExact(embedding.dim(1)));
            String scalingType = m.optionalString(arch + ".rope.scaling.type").orElse("none");
            float scale = "linear".equals(scalingType) ? m.getFloat(arch + ".rope.scaling.factor", 1f) : 1f;
            return new ModelConfig(arch,
                    m.optionalString("general.name").orElse(file.name()),
                    m.getInt(arch + ".context_length"),
                    dim,
                    m.getInt(arch + ".block_count"),
                    m.getInt(arch + ".feed_forward_length"),
                    heads,
                    kvHeads,
                    headDim,
                    vocab,
                    m.getFloat(arch + ".attention.layer_norm_rms_epsilon", 1e-5f),
                    m.getFloat(arch + ".rope.freq_base", 10000f),
                    m.getInt(arch + ".rope.dimension_count", headDim),
                    "qwen2".equals(arch) ? RopeType.NEOX : RopeType.NORMAL,
                    scale == 0f ? 1f : 1f / scale);
        } catch (GgufFormatException | ArithmeticException e) {
            throw new UnsupportedModelException(file.name() + ": " + e.getMessage(), e);
        }
    }
}
