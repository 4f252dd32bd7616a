package io.kvcache.model;

import io.kvcache.cache.KvSequence;
import io.kvcache.tensor.ComputePool;
import io.kvcache.tensor.Kernels;
import io.kvcache.tensor.WeightMatrix;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The Llama-family forward pass: embeddings, per layer RMSNorm, Q/K/V projections (+ biases for
 * qwen2), RoPE, K/V written into the sequence's cache, grouped-query attention through the cache,
 * output projection, SwiGLU FFN, final norm, logits.
 *
 * <p>Numerics follow llama.cpp's CPU path (float activations, RMSNorm sum in double, RoPE angles
 * advanced in float) so that logits match its reference outputs.
 *
 * <p>Thread-safe: {@link #forward} and {@link #forwardBatch} may run concurrently for different
 * sequences; one sequence is used by one thread at a time (the cache enforces it). Work inside one
 * call is split across the {@link ComputePool}. Activation buffers come from a small pool (one set
 * per concurrent pass, kept for passes of up to 32 rows), the attention loop body is reused and
 * logits can go into the caller's array, so a steady decode step allocates nothing here.
 */
public final class LlamaModel {
    private final ModelConfig config;
    private final LlamaWeights weights;
    private final ComputePool pool;
    private final boolean quantizeActivations;
    private final float thetaScale;
    private static final ThreadLocal<float[]> ATTENTION_SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
    private final Activations.Pool activations;

    public LlamaModel(ModelConfig config, LlamaWeights weights, ComputePool pool) {
        this(config, weights, pool, Kernels.quantizesActivationsByDefault());
    }

    /**
     * @param quantizeActivations whether products with Q8_0 and Q4_0 weights round the activations to
     *     Q8_0 first, as llama.cpp does (see {@code EngineOptions.quantizeActivations})
     */
    public LlamaModel(ModelConfig config, LlamaWeights weights, ComputePool pool, boolean quantizeActivations) {
        this.config = Objects.requireNonNull(config, "config");
        this.weights = Objects.requireNonNull(weights, "weights");
        this.pool = Objects.requireNonNull(pool, "pool");
        this.quantizeActivations = quantizeActivations;
        this.thetaScale = (float) Math.pow(config.ropeBase(), -2.0 / config.ropeDimensions());
        this.activations = new Activations.Pool(config);
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
        int vocab = config.vocabularySize();
        float[] logits = new float[allLogits ? tokens.length * vocab : vocab];
        run(sequence, tokens, allLogits, logits);
        return logits;
    }

    /**
     * Like {@link #forward(KvSequence, int[], boolean)} with {@code allLogits = false}, but writes
     * the last position's logits into {@code logitsOut[0 .. vocab)}. In steady state (the same few
     * batch sizes, buffers warmed up) this allocates nothing in the model.
     *
     * @throws IllegalArgumentException for an empty batch, a token id outside the vocabulary or a
     *     {@code logitsOut} shorter than the vocabulary
     */
    public void forward(KvSequence sequence, int[] tokens, float[] logitsOut) {
        forward(sequence, tokens, false, logitsOut);
    }

    /**
     * {@link #forward(KvSequence, int[], boolean)} into a caller's array: {@code logitsOut} must hold
     * {@code tokens.length * vocab} floats when {@code allLogits}, else {@code vocab}.
     *
     * @throws IllegalArgumentException for an empty batch, a token id outside the vocabulary or a
     *     {@code logitsOut} that is too short
     */
    public void forward(KvSequence sequence, int[] tokens, boolean allLogits, float[] logitsOut) {
        long needed = (allLogits ? (long) tokens.length : 1L) * config.vocabularySize();
        if (logitsOut.length < needed) {
            throw new IllegalArgumentException("logitsOut has " + logitsOut.length + " floats, " + needed
                    + " are needed; pass an array of (allLogits ? tokens.length : 1) * vocabularySize floats");
        }
        run(sequence, tokens, allLogits, logitsOut);
    }

    private void run(KvSequence sequence, int[] tokens, boolean allLogits, float[] logits) {
        int n = tokens.length;
        if (n == 0) {
            throw new IllegalArgumentException("cannot run an empty batch of tokens");
        }
        for (int t : tokens) {
            checkToken(t);
        }
        int start = sequence.length();
        sequence.reserve(n);

        Activations a = activations.take(n);
        try {
            a.n = n;
            a.members = 1;
            for (int t = 0; t < n; t++) {
                a.rowSequence[t] = sequence;
                a.rowPosition[t] = start + t;
                a.rowMember[t] = 0;
                a.rowToken[t] = tokens[t];
            }
            compute(a);
            RuntimeException failure = a.memberFailure[0];
            if (failure != null) {
                throw failure;
            }
            sequence.advance(tokens);
            int dim = config.embeddingLength();
            if (allLogits) {
                for (int t = 0; t < n; t++) {
                    rmsNorm(a.xb, t * dim, a.x, t * dim, weights.outputNorm(), dim, config.rmsEpsilon());
                }
                Kernels.matmul(weights.output(), a.xb, n, logits, pool, quantizeActivations);
            } else {
                rmsNorm(a.xb, 0, a.x, (n - 1) * dim, weights.outputNorm(), dim, config.rmsEpsilon());
                Kernels.matvec(weights.output(), a.xb, 0, logits, 0, pool, quantizeActivations);
            }
        } finally {
            activations.give(a);
        }
    }

    /**
     * One decode step for {@code count} sequences at once: member {@code i} feeds the single token
     * {@code tokens[i][0]} to {@code sequences[i]} at that sequence's own position. Every weight
     * matrix is read once for the whole batch (matrix products with {@code n} = the members that
     * are still in); RoPE, the K/V store and attention run per member. The sequences must be
     * distinct.
     *
     * <p>Failure isolation: what goes wrong for one member (a token outside the vocabulary, a
     * {@code reserve}, {@code store}, {@code attention} or {@code advance} that throws, e.g. cache
     * full, context exceeded, preempted) is put in {@code failures[i]}; that member's sequence is
     * left as a failed single-sequence {@link #forward} would leave it, and the other members go
     * on. Members without a failure get their logits in {@code logitsOut[i]} and are advanced.
     *
     * @throws RuntimeException when the step as a whole fails (e.g. the compute pool was closed):
     *     then no member without an entry in {@code failures} has a result (their reservations stay
     *     pending, as after a failed {@link #forward}; the next reserve reuses them)
     */
    public void forwardBatch(int count, KvSequence[] sequences, int[][] tokens, float[][] logitsOut,
            @Nullable RuntimeException[] failures) {
        Activations a = activations.take(count);
        try {
            a.members = count;
            int n = 0;
            for (int i = 0; i < count; i++) {
                failures[i] = null;
                try {
                    int[] token = tokens[i];
                    if (token.length != 1) {
                        throw new IllegalArgumentException("a batched decode step feeds one token per sequence, got "
                                + token.length + "; run prompts through forward()");
                    }
                    checkToken(token[0]);
                    if (logitsOut[i].length < config.vocabularySize()) {
                        throw new IllegalArgumentException("logitsOut[" + i + "] is shorter than the vocabulary "
                                + config.vocabularySize());
                    }
                    int position = sequences[i].length();
                    sequences[i].reserve(1);
                    a.rowSequence[n] = sequences[i];
                    a.rowPosition[n] = position;
                    a.rowMember[n] = i;
                    a.rowToken[n] = token[0];
                    n++;
                } catch (RuntimeException e) {
                    failures[i] = e;
                }
            }
            a.n = n;
            if (n == 0) {
                return;
            }
            compute(a);
            int dim = config.embeddingLength();
            int vocab = config.vocabularySize();
            for (int t = 0; t < n; t++) {
                if (!a.rowFailed(t)) {
                    try {
                        a.rowSequence[t].advance(tokens[a.rowMember[t]]);
                    } catch (RuntimeException e) {
                        a.memberFailure[a.rowMember[t]] = e;
                    }
                }
                rmsNorm(a.xb, t * dim, a.x, t * dim, weights.outputNorm(), dim, config.rmsEpsilon());
            }
            if (n == 1) {
                // One member left: the same product as an unbatched step.
                if (!a.rowFailed(0)) {
                    Kernels.matvec(weights.output(), a.xb, 0, logitsOut[a.rowMember[0]], 0, pool,
                            quantizeActivations);
                }
            } else {
                if (a.logits.length < n * vocab) {
                    a.logits = new float[a.capacity * vocab];
                }
                Kernels.matmul(weights.output(), a.xb, n, a.logits, pool, quantizeActivations);
                for (int t = 0; t < n; t++) {
                    if (!a.rowFailed(t)) {
                        System.arraycopy(a.logits, t * vocab, logitsOut[a.rowMember[t]], 0, vocab);
                    }
                }
            }
            for (int i = 0; i < count; i++) {
                if (failures[i] == null) {
                    failures[i] = a.memberFailure[i];
                }
            }
        } finally {
            activations.give(a);
        }
    }

    private void checkToken(int t) {
        if (t < 0 || t >= config.vocabularySize()) {
            throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, "
                    + config.vocabularySize() + ")");
        }
    }

    /** Embeddings, RoPE angles and every layer for the rows of {@code a}; stops early once every row failed. */
    private void compute(Activations a) {
        int dim = config.embeddingLength();
        int pairs = config.ropeDimensions() / 2;
        for (int t = 0; t < a.n; t++) {
            weights.tokenEmbedding().dequantizeRow(a.rowToken[t], a.x, t * dim);
            ropeAngles(a.rowPosition[t], a.ropeCos, a.ropeSin, t * pairs);
        }
        if (a.attentionTask == null) {
            a.attentionTask = new AttentionTask(a, config.heads(), config.kvHeads(), config.queryDim());
        }
        for (int l = 0; l < config.layers() && !a.allRowsFailed(); l++) {
            layer(l, a);
        }
    }

    private void layer(int l, Activations a) {
        LlamaWeights.Layer w = weights.layer(l);
        int n = a.n;
        int dim = config.embeddingLength();
        int qDim = config.queryDim();
        int kvDim = config.kvDim();
        int pairs = config.ropeDimensions() / 2;
        float eps = config.rmsEpsilon();

        for (int t = 0; t < n; t++) {
            rmsNorm(a.xb, t * dim, a.x, t * dim, w.attentionNorm(), dim, eps);
        }
        Kernels.matmul(w.wq(), a.xb, n, a.q, pool, quantizeActivations);
        Kernels.matmul(w.wk(), a.xb, n, a.k, pool, quantizeActivations);
        Kernels.matmul(w.wv(), a.xb, n, a.v, pool, quantizeActivations);
        addBias(a.q, w.bq(), n, qDim);
        addBias(a.k, w.bk(), n, kvDim);
        addBias(a.v, w.bv(), n, kvDim);
        for (int t = 0; t < n; t++) {
            rope(a.q, t * qDim, config.heads(), a.ropeCos, a.ropeSin, t * pairs);
            rope(a.k, t * kvDim, config.kvHeads(), a.ropeCos, a.ropeSin, t * pairs);
            if (!a.rowFailed(t)) {
                try {
                    a.rowSequence[t].store(l, a.rowPosition[t], a.k, t * kvDim, a.v, t * kvDim);
                } catch (RuntimeException e) {
                    fail(a, t, e);
                }
            }
        }

        AttentionTask attention = a.attentionTask;
        attention.layer = l;
        pool.parallelFor(attention.plan(pool.threads()), attention);

        Kernels.matmul(w.wo(), a.att, n, a.tmp, pool, quantizeActivations);
        add(a.x, a.tmp, n * dim);

        for (int t = 0; t < n; t++) {
            rmsNorm(a.xb, t * dim, a.x, t * dim, w.ffnNorm(), dim, eps);
        }
        Kernels.matmul(w.gate(), a.xb, n, a.hb, pool, quantizeActivations);
        Kernels.matmul(w.up(), a.xb, n, a.hb2, pool, quantizeActivations);
        Kernels.swiglu(a.hb, a.hb2, n * config.feedForwardLength());
        Kernels.matmul(w.down(), a.hb, n, a.tmp, pool, quantizeActivations);
        add(a.x, a.tmp, n * dim);
    }

    /**
     * Records a member's failure: its rows are skipped from now on (their products still run,
     * harmlessly). A single-sequence pass has one member, so it ends with this failure.
     */
    private static void fail(Activations a, int row, RuntimeException e) {
        int member = a.rowMember[row];
        if (a.memberFailure[member] == null) {
            a.memberFailure[member] = e;
        }
    }

    /**
     * Attention of a pass, reused across layers and steps. A row whose member failed gets zeros; a
     * failure inside attention drops only that row's member.
     *
     * <p>Rows of one sequence at consecutive positions (a prompt) form runs, cut into chunks of up to
     * {@link #MAX_CHUNK} positions; an item is one chunk and one slice of query heads, served by the
     * multi-position {@link KvSequence#attention(int, int, int, int, float[], int, int, float[], int, int,
     * int, int, float[])} (each K/V block read once per chunk, not once per position). Items are
     * numbered slice-major so the pool's contiguous ranges get whole slices: with causal attention a
     * late chunk costs more than an early one, and every slice has the same mix. A pass without a
     * run of two or more rows (a decode step) keeps one item per (row, head).
     */
    static final class AttentionTask implements ComputePool.RangeTask {
        /** Positions attended together: long enough to amortize reading a block, short enough to balance. */
        static final int MAX_CHUNK = 32;
        /** Scratch floats a worker grows to for one chunk (beyond it chunks take fewer positions per read). */
        private static final int MAX_SCRATCH = 1 << 20;
        private final Activations a;
        private final int heads;
        private final int group;
        private final int qDim;
        private final int headDim;
        /** First row and row count of each chunk of the current pass; {@link #chunks} 0 for a decode step. */
        private final int[] chunkRow;
        private final int[] chunkRows;
        private int chunks;
        private int sliceHeads;
        int layer;

        AttentionTask(Activations a, int heads, int kvHeads, int qDim) {
            this.a = a;
            this.heads = heads;
            this.group = heads / kvHeads;
            this.qDim = qDim;
            this.headDim = qDim / heads;
            this.chunkRow = new int[a.capacity];
            this.chunkRows = new int[a.capacity];
        }

        /** Cuts the pass into items for {@code threads} threads; returns the item count. */
        int plan(int threads) {
            int n = a.n;
            chunks = 0;
            boolean runs = false;
            for (int t = 0; t < n; ) {
                int end = t + 1;
                while (end < n && a.rowSequence[end] == a.rowSequence[t]
                        && a.rowPosition[end] == a.rowPosition[end - 1] + 1) {
                    end++;
                }
                runs |= end - t > 1;
                int pieces = (end - t + MAX_CHUNK - 1) / MAX_CHUNK;
                for (int piece = 0; piece < pieces; piece++) {
                    // Even pieces: 40 rows make two chunks of 20, not 32 and 8.
                    int from = t + (int) ((long) (end - t) * piece / pieces);
                    int to = t + (int) ((long) (end - t) * (piece + 1) / pieces);
                    chunkRow[chunks] = from;
                    chunkRows[chunks] = to - from;
                    chunks++;
                }
                t = end;
            }
            if (!runs) {
                chunks = 0;
                return n * heads;
            }
            // Whole KV groups share K/V reads; halve them only while too few slices keep the threads busy.
            sliceHeads = group;
            while (sliceHeads % 2 == 0 && heads / sliceHeads < 2 * threads) {
                sliceHeads /= 2;
            }
            return chunks * (heads / sliceHeads);
        }

        @Override
        public void run(int from, int to) {
            if (chunks == 0) {
                runRows(from, to);
                return;
            }
            for (int item = from; item < to; item++) {
                int chunk = item % chunks;
                int headFrom = item / chunks * sliceHeads;
                int headTo = headFrom + sliceHeads;
                int t = chunkRow[chunk];
                int rows = chunkRows[chunk];
                if (a.rowFailed(t)) {
                    for (int r = t; r < t + rows; r++) {
                        java.util.Arrays.fill(a.att, r * qDim + headFrom * headDim, r * qDim + headTo * headDim, 0f);
                    }
                    continue;
                }
                KvSequence sequence = a.rowSequence[t];
                try {
                    int size = Math.max(sequence.attentionScratchSize(),
                            Math.min(MAX_SCRATCH, sequence.attentionScratchSize(heads, rows)));
                    sequence.attention(layer, a.rowPosition[t], rows, heads, a.q, t * qDim, qDim, a.att, t * qDim,
                            qDim, headFrom, headTo, scratch(size));
                } catch (RuntimeException e) {
                    synchronized (a) {
                        fail(a, t, e);
                    }
                }
            }
        }

        /** One item per (row, head): a decode step, one position per sequence. */
        private void runRows(int from, int to) {
            for (int item = from; item < to; ) {
                int t = item / heads;
                int headFrom = item % heads;
                int headTo = Math.min(heads, headFrom + (to - item));
                KvSequence sequence = a.rowSequence[t];
                if (a.rowFailed(t)) {
                    java.util.Arrays.fill(a.att, t * qDim + headFrom * headDim, t * qDim + headTo * headDim, 0f);
                } else {
                    try {
                        float[] scratch = scratch(sequence.attentionScratchSize(heads));
                        sequence.attention(layer, a.rowPosition[t], heads, a.q, t * qDim, a.att, t * qDim, headFrom,
                                headTo, scratch);
                    } catch (RuntimeException e) {
                        synchronized (a) {
                            fail(a, t, e);
                        }
                    }
                }
                item += headTo - headFrom;
            }
        }
    }

    private static float[] scratch(int size) {
        float[] s = ATTENTION_SCRATCH.get();
        if (s.length < size) {
            s = new float[size];
            ATTENTION_SCRATCH.set(s);
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

    /** Rotates every head of one position in place, with that position's angles at {@code cs[csOff ..]}. */
    private void rope(float[] v, int off, int headCount, float[] cos, float[] sin, int csOff) {
        int headDim = config.headDim();
        int pairs = config.ropeDimensions() / 2;
        for (int h = 0; h < headCount; h++) {
            int base = off + h * headDim;
            if (config.ropeType() == RopeType.NORMAL) {
                for (int i = 0; i < pairs; i++) {
                    float x0 = v[base + 2 * i];
                    float x1 = v[base + 2 * i + 1];
                    v[base + 2 * i] = x0 * cos[csOff + i] - x1 * sin[csOff + i];
                    v[base + 2 * i + 1] = x0 * sin[csOff + i] + x1 * cos[csOff + i];
                }
            } else {
                for (int i = 0; i < pairs; i++) {
                    float x0 = v[base + i];
                    float x1 = v[base + i + pairs];
                    v[base + i] = x0 * cos[csOff + i] - x1 * sin[csOff + i];
                    v[base + i + pairs] = x0 * sin[csOff + i] + x1 * cos[csOff + i];
                }
            }
        }
    }

    /** Angles as llama.cpp computes them: theta starts at the position and is scaled in float per pair. */
    private void ropeAngles(int position, float[] cos, float[] sin, int off) {
        float[] factors = weights.ropeFrequencyFactors();
        float theta = position * config.ropePositionScale();
        int pairs = config.ropeDimensions() / 2;
        for (int i = 0; i < pairs; i++) {
            float angle = factors == null ? theta : theta / factors[i];
            cos[off + i] = (float) Math.cos(angle);
            sin[off + i] = (float) Math.sin(angle);
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
}
