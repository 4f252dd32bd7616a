package io.kvcache.model;

import io.kvcache.cache.KvSequence;
import io.kvcache.tensor.ComputePool;
import io.kvcache.tensor.Kernels;
import io.kvcache.tensor.WeightMatrix;
import java.util.Objects;

/**
 * The Llama-family forward pass: embeddings, per layer RMSNorm, Q/K/V projections (+ biases for
 * qwen2), RoPE, K/V written into the sequence's cache, grouped-query attention through the cache,
 * output projection, SwiGLU FFN, final norm, logits.
 *
 * <p>Numerics follow llama.cpp's CPU path (float activations, RMSNorm sum in double, RoPE angles
 * advanced in float) so that logits match its reference outputs.
 *
 * <p>Thread-safe: {@link #forward} may run concurrently for different sequences; one sequence is
 * used by one thread at a time (the cache enforces it). Work inside one call is split across the
 * {@link ComputePool}.
 */
public final class LlamaModel {
    private final ModelConfig config;
    private final LlamaWeights weights;
    private final ComputePool pool;
    private final float thetaScale;
    private final ThreadLocal<float[]> attentionScratch = ThreadLocal.withInitial(() -> new float[0]);

    public LlamaModel(ModelConfig config, LlamaWeights weights, ComputePool pool) {
        this.config = Objects.requireNonNull(config, "config");
        this.weights = Objects.requireNonNull(weights, "weights");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.thetaScale = (float) Math.pow(config.ropeBase(), -2.0 / config.ropeDimensions());
    }

    public ModelConfig config() {
        return config;
    }

    public LlamaWeights weights() {
        return weights;
    }

    /**
     * Runs {@code tokens} at positions {@code sequence.length() ..} through the model, appends
     * their K/V to the sequence and advances it.
     *
     * @param allLogits true: logits for every position ({@code tokens.length * vocab} floats,
     *     row-major); false: logits of the last position only ({@code vocab} floats)
     * @throws IllegalArgumentException for an empty batch or a token id outside the vocabulary
     */
    public float[] forward(KvSequence sequence, int[] tokens, boolean allLogits) {
        int n = tokens.length;
        if (n == 0) {
            throw new IllegalArgumentException("cannot run an empty batch of tokens");
        }
        for (int t : tokens) {
            if (t < 0 || t >= config.vocabularySize()) {
                throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, "
                        + config.vocabularySize() + ")");
            }
        }
        int dim = config.embeddingLength();
        int start = sequence.length();
        sequence.reserve(n);

        Activations a = new Activations(config, n);
        for (int t = 0; t < n; t++) {
            weights.tokenEmbedding().dequantizeRow(tokens[t], a.x, t * dim);
        }
        for (int l = 0; l < config.layers(); l++) {
            layer(l, sequence, start, a);
        }
        sequence.advance(tokens);

        WeightMatrix output = weights.output();
        if (allLogits) {
            for (int t = 0; t < n; t++) {
                rmsNorm(a.xb, t * dim, a.x, t * dim, weights.outputNorm(), dim, config.rmsEpsilon());
            }
            float[] logits = new float[n * config.vocabularySize()];
            Kernels.matmul(output, a.xb, n, logits, pool);
            return logits;
        }
        float[] last = new float[dim];
        rmsNorm(last, 0, a.x, (n - 1) * dim, weights.outputNorm(), dim, config.rmsEpsilon());
        float[] logits = new float[config.vocabularySize()];
        Kernels.matvec(output, last, 0, logits, 0, pool);
        return logits;
    }

    private void layer(int l, KvSequence sequence, int start, Activations a) {
        LlamaWeights.Layer w = weights.layer(l);
        int n = a.n;
        int dim = config.embeddingLength();
        int qDim = config.queryDim();
        int kvDim = config.kvDim();
        float eps = config.rmsEpsilon();

        for (int t = 0; t < n; t++) {
            rmsNorm(a.xb, t * dim, a.x, t * dim, w.attentionNorm(), dim, eps);
        }
        Kernels.matmul(w.wq(), a.xb, n, a.q, pool);
        Kernels.matmul(w.wk(), a.xb, n, a.k, pool);
        Kernels.matmul(w.wv(), a.xb, n, a.v, pool);
        addBias(a.q, w.bq(), n, qDim);
        addBias(a.k, w.bk(), n, kvDim);
        addBias(a.v, w.bv(), n, kvDim);
        for (int t = 0; t < n; t++) {
            rope(a.q, t * qDim, config.heads(), start + t, a.ropeCos, a.ropeSin);
            rope(a.k, t * kvDim, config.kvHeads(), start + t, a.ropeCos, a.ropeSin);
            sequence.store(l, start + t, a.k, t * kvDim, a.v, t * kvDim);
        }

        int heads = config.heads();
        pool.parallelFor(n * heads, (from, to) -> {
            float[] scratch = scratch(sequence.attentionScratchSize(heads));
            for (int item = from; item < to; ) {
                int t = item / heads;
                int headFrom = item % heads;
                int headTo = Math.min(heads, headFrom + (to - item));
                sequence.attention(l, start + t, heads, a.q, t * qDim, a.att, t * qDim, headFrom, headTo, scratch);
                item += headTo - headFrom;
            }
        });

        Kernels.matmul(w.wo(), a.att, n, a.tmp, pool);
        add(a.x, a.tmp, n * dim);

        for (int t = 0; t < n; t++) {
            rmsNorm(a.xb, t * dim, a.x, t * dim, w.ffnNorm(), dim, eps);
        }
        Kernels.matmul(w.gate(), a.xb, n, a.hb, pool);
        Kernels.matmul(w.up(), a.xb, n, a.hb2, pool);
        int hidden = n * config.feedForwardLength();
        for (int i = 0; i < hidden; i++) {
            float g = a.hb[i];
            a.hb[i] = g / (1.0f + (float) Math.exp(-g)) * a.hb2[i];
        }
        Kernels.matmul(w.down(), a.hb, n, a.tmp, pool);
        add(a.x, a.tmp, n * dim);
    }

    private float[] scratch(int size) {
        float[] s = attentionScratch.get();
        if (s.length < size) {
            s = new float[size];
            attentionScratch.set(s);
        }
        return s;
    }

    /** llama.cpp's rms_norm then mul: sum of squares in double, scale in float. */
    static void rmsNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOff + i];
            sum += v * v;
        }
        float mean = (float) (sum / n);
        float scale = 1.0f / (float) Math.sqrt(mean + eps);
        for (int i = 0; i < n; i++) {
            out[outOff + i] = x[xOff + i] * scale * weight[i];
        }
    }

    /** Rotates every head of one position in place. */
    private void rope(float[] v, int off, int headCount, int position, float[] cos, float[] sin) {
        int headDim = config.headDim();
        int pairs = config.ropeDimensions() / 2;
        ropeAngles(position, cos, sin);
        for (int h = 0; h < headCount; h++) {
            int base = off + h * headDim;
            if (config.ropeType() == RopeType.NORMAL) {
                for (int i = 0; i < pairs; i++) {
                    float x0 = v[base + 2 * i];
                    float x1 = v[base + 2 * i + 1];
                    v[base + 2 * i] = x0 * cos[i] - x1 * sin[i];
                    v[base + 2 * i + 1] = x0 * sin[i] + x1 * cos[i];
                }
            } else {
                for (int i = 0; i < pairs; i++) {
                    float x0 = v[base + i];
                    float x1 = v[base + i + pairs];
                    v[base + i] = x0 * cos[i] - x1 * sin[i];
                    v[base + i + pairs] = x0 * sin[i] + x1 * cos[i];
                }
            }
        }
    }

    /** Angles as llama.cpp computes them: theta starts at the position and is scaled in float per pair. */
    private void ropeAngles(int position, float[] cos, float[] sin) {
        float[] factors = weights.ropeFrequencyFactors();
        float theta = position * config.ropePositionScale();
        for (int i = 0; i < cos.length; i++) {
            float angle = factors == null ? theta : theta / factors[i];
            cos[i] = (float) Math.cos(angle);
            sin[i] = (float) Math.sin(angle);
            theta *= thetaScale;
        }
    }

    private static void addBias(float[] v, float @org.jspecify.annotations.Nullable [] bias, int n, int width) {
        if (bias == null) {
            return;
        }
        for (int t = 0; t < n; t++) {
            for (int i = 0; i < width; i++) {
                v[t * width + i] += bias[i];
            }
        }
    }

    private static void add(float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            x[i] += y[i];
        }
    }

    /** Per-call activation buffers for a batch of n tokens. */
    private static final class Activations {
        final int n;
        final float[] x;
        final float[] xb;
        final float[] q;
        final float[] k;
        final float[] v;
        final float[] att;
        final float[] tmp;
        final float[] hb;
        final float[] hb2;
        final float[] ropeCos;
        final float[] ropeSin;

        Activations(ModelConfig c, int n) {
            this.n = n;
            x = new float[n * c.embeddingLength()];
            xb = new float[n * c.embeddingLength()];
            q = new float[n * c.queryDim()];
            k = new float[n * c.kvDim()];
            v = new float[n * c.kvDim()];
            att = new float[n * c.queryDim()];
            tmp = new float[n * c.embeddingLength()];
            hb = new float[n * c.feedForwardLength()];
            hb2 = new float[n * c.feedForwardLength()];
            ropeCos = new float[c.ropeDimensions() / 2];
            ropeSin = new float[c.ropeDimensions() / 2];
        }
    }
}
