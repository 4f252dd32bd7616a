package io.kvcache.bench;

import io.kvcache.gguf.GgmlType;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The shape and weight type of one synthetic benchmark model. Immutable and thread-safe.
 *
 * @param family the shape's name, e.g. {@code bench-110m}
 * @param layers transformer blocks
 * @param dim embedding length
 * @param heads query heads
 * @param kvHeads key/value heads (fewer than {@code heads}: grouped-query attention)
 * @param ffn feed-forward length
 * @param vocab vocabulary size (when no real vocabulary file is copied in)
 * @param contextLength the model's context length
 * @param type the weight type of every projection and of the embedding
 */
public record BenchModel(String family, int layers, int dim, int heads, int kvHeads, int ffn, int vocab,
                         int contextLength, GgmlType type) {

    /** Seed of every benchmark model: the same settings always give the same file. */
    public static final long SEED = 20_261_122L;

    public BenchModel {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(type, "type");
    }

    /** {@code bench-110m}: Llama-2-style 12 x 768 with full multi-head attention. */
    public static BenchModel bench110m(GgmlType type) {
        return new BenchModel("bench-110m", 12, 768, 12, 12, 2048, 32_000, 2048, type);
    }

    /** {@code bench-gqa-1b}: TinyLlama-style 16 x 2048, 32 query heads over 8 KV heads. */
    public static BenchModel benchGqa1b(GgmlType type) {
        return new BenchModel("bench-gqa-1b", 16, 2048, 32, 8, 5632, 32_000, 2048, type);
    }

    /** The models of a run: the 110M shape in F32, Q8_0 and Q4_0, plus the 1B GQA model in Q8_0 unless quick. */
    public static List<BenchModel> standardSet(boolean quick) {
        List<BenchModel> small = List.of(bench110m(GgmlType.F32), bench110m(GgmlType.Q8_0), bench110m(GgmlType.Q4_0));
        if (quick) {
            return small;
        }
        return java.util.stream.Stream.concat(small.stream(), java.util.stream.Stream.of(benchGqa1b(GgmlType.Q8_0)))
                .toList();
    }

    /** The same shape with {@code n} layers under another family name (smoke runs). */
    public BenchModel withLayers(int n, String newFamily) {
        return new BenchModel(newFamily, n, dim, heads, kvHeads, ffn, vocab, contextLength, type);
    }

    /** File and report name, e.g. {@code bench-110m-q8_0}. */
    public String name() {
        return family + "-" + type.name().toLowerCase(Locale.ROOT);
    }

    /** Elements per head. */
    public int headDim() {
        return dim / heads;
    }

    /** Weight parameters: the embedding, every layer's projections and the output matrix. */
    public long parameters() {
        long kvDim = (long) kvHeads * headDim();
        long perLayer = 2L * dim * dim + 2L * dim * kvDim + 3L * dim * ffn;
        return 2L * vocab * dim + layers * perLayer;
    }
}
