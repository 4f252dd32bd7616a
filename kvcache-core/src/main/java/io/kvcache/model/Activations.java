package io.kvcache.model;

import io.kvcache.cache.KvSequence;
import org.jspecify.annotations.Nullable;

/**
 * The buffers of one forward pass over up to {@link #capacity} rows (tokens). A row belongs to a
 * member (a sequence of the step) and sits at its own position: one member with many rows for a
 * prompt, many members with one row each for a batched decode step. Reused across calls through
 * {@link Pool}, so a decode step allocates nothing. Not thread-safe: one forward pass owns it.
 */
final class Activations {
    final int capacity;
    /** Rows in use by the current pass. */
    int n;
    /** Members of the current pass (sequences), at most {@link #capacity}. */
    int members;
    final float[] x;
    final float[] xb;
    final float[] q;
    final float[] k;
    final float[] v;
    final float[] att;
    final float[] tmp;
    final float[] hb;
    final float[] hb2;
    /** RoPE cos/sin of every row's position, {@code ropeDimensions / 2} each, computed once per pass. */
    final float[] ropeCos;
    final float[] ropeSin;
    /** Row i's sequence; slots past {@link #n} are cleared so a kept set pins no sequence. */
    final KvSequence[] rowSequence;
    final int[] rowPosition;
    final int[] rowMember;
    final int[] rowToken;
    /** Per member: why it dropped out of this pass (its rows are then skipped), or null. */
    final @Nullable RuntimeException[] memberFailure;
    /** The model's reusable attention loop body over this set's rows (no lambda per layer). */
    LlamaModel.@Nullable AttentionTask attentionTask;
    /** Batched logits of the last rows, allocated on the first batched step that needs them. */
    float[] logits = new float[0];

    Activations(ModelConfig c, int capacity) {
        this.capacity = capacity;
        x = new float[capacity * c.embeddingLength()];
        xb = new float[capacity * c.embeddingLength()];
        q = new float[capacity * c.queryDim()];
        k = new float[capacity * c.kvDim()];
        v = new float[capacity * c.kvDim()];
        att = new float[capacity * c.queryDim()];
        tmp = new float[capacity * c.embeddingLength()];
        hb = new float[capacity * c.feedForwardLength()];
        hb2 = new float[capacity * c.feedForwardLength()];
        ropeCos = new float[capacity * (c.ropeDimensions() / 2)];
        ropeSin = new float[capacity * (c.ropeDimensions() / 2)];
        rowSequence = new KvSequence[capacity];
        rowPosition = new int[capacity];
        rowMember = new int[capacity];
        rowToken = new int[capacity];
        memberFailure = new RuntimeException[capacity];
    }

    boolean rowFailed(int row) {
        return memberFailure[rowMember[row]] != null;
    }

    boolean allRowsFailed() {
        for (int t = 0; t < n; t++) {
            if (!rowFailed(t)) {
                return false;
            }
        }
        return true;
    }

    /** Drops references to the sequences and failures of the last pass (they must not be kept alive). */
    void reset() {
        for (int i = 0; i < n; i++) {
            rowSequence[i] = null;
        }
        for (int i = 0; i < members; i++) {
            memberFailure[i] = null;
        }
        n = 0;
        members = 0;
    }

    /**
     * A few activation sets kept for reuse, so that steady-state decoding (one or a batch of rows)
     * allocates none. Concurrent forward passes (different sequences on different threads, or the
     * batch leader next to a prompt being prefilled) each take their own set. Large sets (long
     * prompts) are not kept: they would pin megabytes for a one-off. Thread-safe.
     */
    static final class Pool {
        /** Sets kept at most: enough for the usual few concurrent passes. */
        private static final int MAX_KEPT = 8;
        /** Sets for more rows than this are dropped after use. */
        private static final int MAX_KEPT_ROWS = 32;

        private final ModelConfig config;
        private final Activations[] kept = new Activations[MAX_KEPT];
        private int size;

        Pool(ModelConfig config) {
            this.config = config;
        }

        /** A set with room for {@code rows} rows: the smallest kept one that fits, or a new one. */
        synchronized Activations take(int rows) {
            int best = -1;
            for (int i = 0; i < size; i++) {
                if (kept[i].capacity >= rows && (best < 0 || kept[i].capacity < kept[best].capacity)) {
                    best = i;
                }
            }
            if (best < 0) {
                return new Activations(config, roundedCapacity(rows));
            }
            Activations a = kept[best];
            kept[best] = kept[--size];
            kept[size] = null;
            return a;
        }

        /** Small sets are sized to a power of two, so that batches of varying size reuse one set. */
        static int roundedCapacity(int rows) {
            if (rows > MAX_KEPT_ROWS) {
                return rows;
            }
            int capacity = 1;
            while (capacity < rows) {
                capacity <<= 1;
            }
            return capacity;
        }

        /** Returns a set after use; keeps it when small enough, replacing a smaller one when full. */
        synchronized void give(Activations a) {
            a.reset();
            if (a.capacity > MAX_KEPT_ROWS) {
                return;
            }
            if (size < MAX_KEPT) {
                kept[size++] = a;
                return;
            }
            int smallest = 0;
            for (int i = 1; i < size; i++) {
                if (kept[i].capacity < kept[smallest].capacity) {
                    smallest = i;
                }
            }
            if (kept[smallest].capacity < a.capacity) {
                kept[smallest] = a;
            }
        }
    }
}
