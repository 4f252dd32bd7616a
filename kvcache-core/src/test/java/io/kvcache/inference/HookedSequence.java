package io.kvcache.inference;

import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvSequence;

/**
 * A real sequence with test hooks before {@code reserve}, {@code store} and {@code attention}, to
 * make one member of a batched step block or fail at a chosen point. Not thread-safe beyond what
 * the wrapped sequence allows.
 */
class HookedSequence implements KvSequence {
    /** Runs before the wrapped call; may block or throw. */
    @FunctionalInterface
    interface Hook {
        void before(int layer);
    }

    private static final Hook NONE = layer -> { };

    private final KvSequence delegate;
    volatile Hook beforeReserve = NONE;
    volatile Hook beforeStore = NONE;
    volatile Hook beforeAttention = NONE;

    HookedSequence(KvSequence delegate) {
        this.delegate = delegate;
    }

    @Override
    public long id() {
        return delegate.id();
    }

    @Override
    public int length() {
        return delegate.length();
    }

    @Override
    public int capacity() {
        return delegate.capacity();
    }

    @Override
    public boolean isFull() {
        return delegate.isFull();
    }

    @Override
    public boolean isEmpty() {
        return delegate.isEmpty();
    }

    @Override
    public int[] tokens() {
        return delegate.tokens();
    }

    @Override
    public void reserve(int n) {
        beforeReserve.before(-1);
        delegate.reserve(n);
    }

    @Override
    public void store(int layer, int position, float[] k, int kOffset, float[] v, int vOffset) {
        beforeStore.before(layer);
        delegate.store(layer, position, k, kOffset, v, vOffset);
    }

    @Override
    public void advance(int[] tokenIds) {
        delegate.advance(tokenIds);
    }

    @Override
    public void advance(int n) {
        delegate.advance(n);
    }

    @Override
    public void readKey(int layer, int position, float[] dst, int off) {
        delegate.readKey(layer, position, dst, off);
    }

    @Override
    public void readValue(int layer, int position, float[] dst, int off) {
        delegate.readValue(layer, position, dst, off);
    }

    @Override
    public void attention(int layer, int position, int queryHeads, float[] q, int qOff, float[] out, int outOff,
            int headFrom, int headTo, float[] scratch) {
        beforeAttention.before(layer);
        delegate.attention(layer, position, queryHeads, q, qOff, out, outOff, headFrom, headTo, scratch);
    }

    @Override
    public int attentionScratchSize() {
        return delegate.attentionScratchSize();
    }

    @Override
    public int attentionScratchSize(int queryHeads) {
        return delegate.attentionScratchSize(queryHeads);
    }

    @Override
    public void attention(int layer, int position, int queryHeads, float[] q, float[] out) {
        beforeAttention.before(layer);
        delegate.attention(layer, position, queryHeads, q, out);
    }

    @Override
    public void clear() {
        delegate.clear();
    }

    @Override
    public void truncate(int n) {
        delegate.truncate(n);
    }

    @Override
    public KvSequence fork() {
        return delegate.fork();
    }

    @Override
    public boolean isPreempted() {
        return delegate.isPreempted();
    }

    @Override
    public KvCacheSpec spec() {
        return delegate.spec();
    }

    @Override
    public CacheStrategy strategy() {
        return delegate.strategy();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
