package io.kvcache.model;

import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufTensorInfo;
import io.kvcache.tensor.UnsupportedTensorTypeException;
import io.kvcache.tensor.WeightMatrix;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The weights of a Llama-family model as views over a mapped GGUF file (nothing is copied except
 * the small norm vectors and biases). Immutable and thread-safe while the file is open.
 */
public final class LlamaWeights {
    /** One transformer block. Biases are null for architectures without them. */
    public record Layer(float[] attentionNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo,
            @Nullable float[] bq, @Nullable float[] bk, @Nullable float[] bv,
            float[] ffnNorm, WeightMatrix gate, WeightMatrix up, WeightMatrix down) {
    }

    private final WeightMatrix tokenEmbedding;
    private final List<Layer> layers;
    private final float[] outputNorm;
    private final WeightMatrix output;
    private final float @Nullable [] ropeFrequencyFactors;

    private LlamaWeights(WeightMatrix tokenEmbedding, List<Layer> layers, float[] outputNorm, WeightMatrix output,
            float @Nullable [] ropeFrequencyFactors) {
        this.tokenEmbedding = tokenEmbedding;
        this.layers = List.copyOf(layers);
        this.outputNorm = outputNorm;
        this.output = output;
        this.ropeFrequencyFactors = ropeFrequencyFactors;
    }

    public WeightMatrix tokenEmbedding() {
        return tokenEmbedding;
    }

    public Layer layer(int i) {
        return layers.get(i);
    }

    public float[] outputNorm() {
        return outputNorm;
    }

    /** The output projection; the token embedding when the model ties them. */
    public WeightMatrix output() {
        return output;
    }

    /** Llama 3 {@code rope_freqs.weight}: divisors of each rotated pair's frequency, or null. */
    public float @Nullable [] ropeFrequencyFactors() {
        return ropeFrequencyFactors;
    }

    /** Norms, Q, K, V, output, FFN norm, gate, up, down. */
    private static final int TENSORS_PER_LAYER = 9;

    /** Binds every tensor the configuration calls for, checking names, shapes and types. */
    public static LlamaWeights load(GgufFile file, ModelConfig c) {
        // Each block has at least 9 tensors: reject an absurd block count before sizing anything by it.
        if (c.layers() > file.tensors().size() / TENSORS_PER_LAYER) {
            throw new UnsupportedModelException(file.name() + ": " + c.architecture() + ".block_count is " + c.layers()
                    + " but the file has only " + file.tensors().size() + " tensors (each block needs "
                    + TENSORS_PER_LAYER + "); the metadata does not match the weights, re-convert the model");
        }
        Binder b = new Binder(file);
        WeightMatrix embedding = b.matrix("token_embd.weight", c.vocabularySize(), c.embeddingLength());
        boolean biases = "qwen2".equals(c.architecture());
        List<Layer> layers = new ArrayList<>(c.layers());
        for (int i = 0; i < c.layers(); i++) {
            String p = "blk." + i + ".";
            layers.add(new Layer(
                    b.vector(p + "attn_norm.weight", c.embeddingLength()),
                    b.matrix(p + "attn_q.weight", c.queryDim(), c.embeddingLength()),
                    b.matrix(p + "attn_k.weight", c.kvDim(), c.embeddingLength()),
                    b.matrix(p + "attn_v.weight", c.kvDim(), c.embeddingLength()),
                    b.matrix(p + "attn_output.weight", c.embeddingLength(), c.queryDim()),
                    biases ? b.optionalVector(p + "attn_q.bias", c.queryDim()) : null,
                    biases ? b.optionalVector(p + "attn_k.bias", c.kvDim()) : null,
                    biases ? b.optionalVector(p + "attn_v.bias", c.kvDim()) : null,
                    b.vector(p + "ffn_norm.weight", c.embeddingLength()),
                    b.matrix(p + "ffn_gate.weight", c.feedForwardLength(), c.embeddingLength()),
                    b.matrix(p + "ffn_up.weight", c.feedForwardLength(), c.embeddingLength()),
                    b.matrix(p + "ffn_down.weight", c.embeddingLength(), c.feedForwardLength())));
        }
        float[] outputNorm = b.vector("output_norm.weight", c.embeddingLength());
        WeightMatrix output = file.hasTensor("output.weight")
                ? b.matrix("output.weight", c.vocabularySize(), c.embeddingLength())
                : embedding;
        float[] ropeFreqs = b.optionalVector("rope_freqs.weight", c.ropeDimensions() / 2);
        return new LlamaWeights(embedding, layers, outputNorm, output, ropeFreqs);
    }

    /** Looks tensors up by name and checks their shapes, naming the tensor in every error. */
    private record Binder(GgufFile file) {
        WeightMatrix matrix(String name, int rows, int cols) {
            GgufTensorInfo t = require(name);
            if (t.rank() > 2 || t.dim(0) != cols || t.dim(1) != rows) {
                throw new UnsupportedModelException(file.name() + ": tensor '" + name + "' has shape "
                        + java.util.Arrays.toString(t.shape()) + ", expected [" + cols + ", " + rows + "]");
            }
            try {
                return WeightMatrix.of(file, t);
            } catch (UnsupportedTensorTypeException e) {
                throw new UnsupportedModelException(file.name() + ": tensor '" + name + "': " + e.getMessage(), e);
            }
        }

        float[] vector(String name, int length) {
            return readVector(require(name), length);
        }

        float @Nullable [] optionalVector(String name, int length) {
            GgufTensorInfo t = file.tensor(name);
            return t == null ? null : readVector(t, length);
        }

        private float[] readVector(GgufTensorInfo t, int length) {
            if (t.elementCount() != length) {
                throw new UnsupportedModelException(file.name() + ": tensor '" + t.name() + "' has "
                        + t.elementCount() + " elements, expected " + length);
            }
            float[] v = new float[length];
            try {
                WeightMatrix.of(t.type(), file.tensorData(t), 1, length).dequantizeRow(0, v, 0);
            } catch (UnsupportedTensorTypeException e) {
                throw new UnsupportedModelException(file.name() + ": tensor '" + t.name() + "': " + e.getMessage(), e);
            }
            return v;
        }

        private GgufTensorInfo require(String name) {
            GgufTensorInfo t = file.tensor(name);
            if (t == null) {
                throw new UnsupportedModelException(file.name() + ": required tensor '" + name + "' is missing");
            }
            return t;
        }
    }
}
