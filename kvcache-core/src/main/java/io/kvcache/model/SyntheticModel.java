package io.kvcache.model;

import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufArray;
import io.kvcache.gguf.GgufMetadata;
import io.kvcache.gguf.GgufValue;
import io.kvcache.gguf.GgufValueType;
import io.kvcache.gguf.GgufWriter;
import io.kvcache.tensor.Quantizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.jspecify.annotations.Nullable;

/**
 * Builds a Llama-family GGUF model with random weights of any shape and type: for benchmarks
 * (speed does not depend on trained weights), tests, and the sample app's demo model.
 *
 * <p>Weights are seeded, so the same builder settings give the same file. Float weights are
 * Gaussian with standard deviation {@code 1/sqrt(cols)} so activations stay in range through the
 * layers; types without a quantizer get valid random blocks. The tokenizer is copied from
 * {@link Builder#tokenizerFrom(GgufMetadata)} or, by default, a small SentencePiece vocabulary
 * with byte fallback (any text tokenizes).
 *
 * <pre>{@code
 * byte[] gguf = SyntheticModel.builder().layers(2).embeddingLength(256).weightType(GgmlType.Q8_0).build();
 * }</pre>
 *
 * <p>Builders are not thread-safe.
 */
public final class SyntheticModel {
    private SyntheticModel() {
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Settings of a synthetic model. Defaults: llama, 2 layers, dim 128, 4 heads, 2 KV heads, FFN 256, F32. */
    public static final class Builder {
        private String architecture = "llama";
        private String name = "synthetic";
        private int layers = 2;
        private int embeddingLength = 128;
        private int heads = 4;
        private int kvHeads = 2;
        private int headDim = -1;
        private int feedForwardLength = 256;
        private int vocabularySize = 512;
        private int contextLength = 2048;
        private float ropeBase = 10000f;
        private GgmlType weightType = GgmlType.F32;
        private @Nullable GgmlType embeddingType;
        private boolean tiedOutput;
        private long seed = 42;
        private @Nullable GgufMetadata tokenizer;

        private Builder() {
        }

        /** {@code llama} or {@code qwen2} (adds Q/K/V biases and NeoX RoPE). */
        public Builder architecture(String a) {
            if (!ModelConfig.SUPPORTED_ARCHITECTURES.contains(a)) {
                throw new IllegalArgumentException("architecture must be one of " + ModelConfig.SUPPORTED_ARCHITECTURES);
            }
            this.architecture = a;
            return this;
        }

        public Builder name(String n) {
            this.name = Objects.requireNonNull(n);
            return this;
        }

        public Builder layers(int n) {
            this.layers = n;
            return this;
        }

        public Builder embeddingLength(int n) {
            this.embeddingLength = n;
            return this;
        }

        public Builder heads(int n) {
            this.heads = n;
            return this;
        }

        public Builder kvHeads(int n) {
            this.kvHeads = n;
            return this;
        }

        /** Head dimension; default {@code embeddingLength / heads}. */
        public Builder headDim(int n) {
            this.headDim = n;
            return this;
        }

        public Builder feedForwardLength(int n) {
            this.feedForwardLength = n;
            return this;
        }

        /** Vocabulary size; ignored when a tokenizer is copied from another file. */
        public Builder vocabularySize(int n) {
            this.vocabularySize = n;
            return this;
        }

        public Builder contextLength(int n) {
            this.contextLength = n;
            return this;
        }

        public Builder ropeBase(float b) {
            this.ropeBase = b;
            return this;
        }

        /** Type of the projection matrices (and of the embedding unless set apart). */
        public Builder weightType(GgmlType t) {
            this.weightType = Objects.requireNonNull(t);
            return this;
        }

        public Builder embeddingType(GgmlType t) {
            this.embeddingType = Objects.requireNonNull(t);
            return this;
        }

        /** Leave out {@code output.weight} so the output projection is the token embedding. */
        public Builder tiedOutput(boolean tied) {
            this.tiedOutput = tied;
            return this;
        }

        public Builder seed(long s) {
            this.seed = s;
            return this;
        }

        /** Copy every {@code tokenizer.*} key from a real model or vocabulary file. */
        public Builder tokenizerFrom(GgufMetadata metadata) {
            this.tokenizer = metadata;
            return this;
        }

        /** The model as GGUF bytes. */
        public byte[] build() {
            return writer().toByteArray();
        }

        /** Writes the model to a file. */
        public void write(Path path) {
            writer().write(path);
        }

        private GgufWriter writer() {
            int hd = headDim > 0 ? headDim : embeddingLength / heads;
            GgufWriter w = new GgufWriter();
            String a = architecture;
            w.putString("general.architecture", a);
            w.putString("general.name", name);
            w.putUint32(a + ".context_length", contextLength);
            w.putUint32(a + ".embedding_length", embeddingLength);
            w.putUint32(a + ".block_count", layers);
            w.putUint32(a + ".feed_forward_length", feedForwardLength);
            w.putUint32(a + ".attention.head_count", heads);
            w.putUint32(a + ".attention.head_count_kv", kvHeads);
            w.putUint32(a + ".attention.key_length", hd);
            w.putUint32(a + ".attention.value_length", hd);
            w.putUint32(a + ".rope.dimension_count", hd);
            w.putFloat32(a + ".rope.freq_base", ropeBase);
            w.putFloat32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
            int vocab = writeTokenizer(w);
            w.putUint32(a + ".vocab_size", vocab);

            SplittableRandom rng = new SplittableRandom(seed);
            GgmlType embType = embeddingType != null ? embeddingType : weightType;
            matrix(w, "token_embd.weight", embType, vocab, embeddingLength, 1.0, rng);
            for (int i = 0; i < layers; i++) {
                String p = "blk." + i + ".";
                norm(w, p + "attn_norm.weight", embeddingLength, rng);
                matrix(w, p + "attn_q.weight", weightType, heads * hd, embeddingLength, rng);
                matrix(w, p + "attn_k.weight", weightType, kvHeads * hd, embeddingLength, rng);
                matrix(w, p + "attn_v.weight", weightType, kvHeads * hd, embeddingLength, rng);
                if ("qwen2".equals(a)) {
                    bias(w, p + "attn_q.bias", heads * hd, rng);
                    bias(w, p + "attn_k.bias", kvHeads * hd, rng);
                    bias(w, p + "attn_v.bias", kvHeads * hd, rng);
                }
                matrix(w, p + "attn_output.weight", weightType, embeddingLength, heads * hd, rng);
                norm(w, p + "ffn_norm.weight", embeddingLength, rng);
                matrix(w, p + "ffn_gate.weight", weightType, feedForwardLength, embeddingLength, rng);
                matrix(w, p + "ffn_up.weight", weightType, feedForwardLength, embeddingLength, rng);
                matrix(w, p + "ffn_down.weight", weightType, embeddingLength, feedForwardLength, rng);
            }
            norm(w, "output_norm.weight", embeddingLength, rng);
            if (!tiedOutput) {
                matrix(w, "output.weight", weightType, vocab, embeddingLength, rng);
            }
            return w;
        }

        private int writeTokenizer(GgufWriter w) {
            if (tokenizer != null) {
                for (Map.Entry<String, GgufValue> e : tokenizer.asMap().entrySet()) {
                    if (e.getKey().startsWith("tokenizer.")) {
                        w.put(e.getKey(), e.getValue());
                    }
                }
                return tokenizer.getArray("tokenizer.ggml.tokens").length();
            }
            DefaultVocabulary v = DefaultVocabulary.build(vocabularySize);
            w.putString("tokenizer.ggml.model", "llama");
            w.putArray("tokenizer.ggml.tokens", GgufArray.ofStrings(v.tokens()));
            w.putArray("tokenizer.ggml.scores", GgufArray.ofFloats(v.scores()));
            w.putArray("tokenizer.ggml.token_type", GgufArray.ofInts(GgufValueType.INT32, v.types()));
            w.putUint32("tokenizer.ggml.unknown_token_id", 0);
            w.putUint32("tokenizer.ggml.bos_token_id", 1);
            w.putUint32("tokenizer.ggml.eos_token_id", 2);
            w.putBool("tokenizer.ggml.add_bos_token", true);
            return v.tokens().length;
        }

        private static void matrix(GgufWriter w, String name, GgmlType type, int rows, int cols, SplittableRandom rng) {
            matrix(w, name, type, rows, cols, 1.0 / Math.sqrt(cols), rng);
        }

        private static void matrix(GgufWriter w, String name, GgmlType type, int rows, int cols, double std,
                SplittableRandom rng) {
            long[] shape = {cols, rows};
            if (!Quantizer.QUANTIZABLE.contains(type)) {
                int blocks = Math.toIntExact((long) rows * cols / type.blockSize());
                w.addTensor(name, type, shape, Quantizer.randomBlocks(type, blocks, rng));
                return;
            }
            float[] values = new float[Math.multiplyExact(rows, cols)];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (gaussian(rng) * std);
            }
            w.addTensor(name, type, shape, Quantizer.quantize(type, values));
        }

        private static void norm(GgufWriter w, String name, int n, SplittableRandom rng) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) (1.0 + 0.1 * gaussian(rng));
            }
            w.addTensor(name, GgmlType.F32, new long[] {n}, Quantizer.quantize(GgmlType.F32, v));
        }

        private static void bias(GgufWriter w, String name, int n, SplittableRandom rng) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = (float) (0.1 * gaussian(rng));
            }
            w.addTensor(name, GgmlType.F32, new long[] {n}, Quantizer.quantize(GgmlType.F32, v));
        }

        private static double gaussian(SplittableRandom rng) {
            // Box-Muller: SplittableRandom has no nextGaussian with a stable algorithm across JDKs.
            double u1 = 1.0 - rng.nextDouble();
            double u2 = rng.nextDouble();
            return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
        }
    }

    /** A SentencePiece vocabulary with byte fallback: specials, 256 bytes, then common pieces. */
    record DefaultVocabulary(String[] tokens, float[] scores, int[] types) {
        private static final String[] WORDS = {"the", "and", "a", "to", "was", "he", "she", "it", "of", "in",
            "said", "day", "big", "little", "time", "once", "upon", "there", "with", "play", "happy", "friend",
            "saw", "they", "his", "her", "you", "on", "for", "is", "that", "had", "went", "very", "ball", "tree"};

        static DefaultVocabulary build(int size) {
            List<String> t = new ArrayList<>();
            List<Integer> ty = new ArrayList<>();
            t.add("<unk>");
            ty.add(2);
            t.add("<s>");
            ty.add(3);
            t.add("</s>");
            ty.add(3);
            for (int b = 0; b < 256; b++) {
                t.add(String.format("<0x%02X>", b));
                ty.add(6);
            }
            List<String> pieces = new ArrayList<>();
            pieces.add("\u2581");
            for (char c = 'a'; c <= 'z'; c++) {
                pieces.add(String.valueOf(c));
            }
            for (char c = 'A'; c <= 'Z'; c++) {
                pieces.add(String.valueOf(c));
            }
            for (char c : ".,!?'\"-:;0123456789".toCharArray()) {
                pieces.add(String.valueOf(c));
            }
            for (String word : WORDS) {
                pieces.add("\u2581" + word);
            }
            if (size < t.size() + pieces.size()) {
                throw new IllegalArgumentException("the default vocabulary needs at least " + (t.size() + pieces.size())
                        + " tokens, asked for " + size);
            }
            for (String p : pieces) {
                t.add(p);
                ty.add(1);
            }
            for (int i = t.size(); i < size; i++) {
                t.add("<extra_" + i + ">");
                ty.add(5);
            }
            float[] scores = new float[t.size()];
            for (int i = 0; i < scores.length; i++) {
                // Longer pieces merge first; unused tokens never win.
                scores[i] = ty.get(i) == 1 ? t.get(i).length() - i * 1e-4f : -1e4f;
            }
            return new DefaultVocabulary(t.toArray(String[]::new), scores, ty.stream().mapToInt(Integer::intValue).toArray());
        }
    }
}
