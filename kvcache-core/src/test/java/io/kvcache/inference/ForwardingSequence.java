package io.kvcache.inference;

import io.kvcache.cache.CacheStrategy;
import io.kvcache.cache.KvCacheSpec;
import io.kvcache.cache.KvSequence;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link KvSequence} that forwards every abstract method to another one and keeps the interface's
 * default methods, so multi-position attention runs as single-position calls (the path of a
 * {@code KvSequence} implementation without its own). Counts the single-position attention calls.
 * Thread-safe as far as the wrapped sequence is; the count is exact (atomic).
 */
class ForwardingSequence implements KvSequence {
    final KvSequence inner;
    /** Counted from every pool thread: atomic, as a volatile {@code ++} loses updates. */
    final AtomicInteger singlePositionCalls = new AtomicInteger();

    ForwardingSequence(KvSequence inner) {
        this.inner = inner;
    }

    @Override
    public long id() {
        return inner.id();
    }

    @Override
    public int length() {
        return inner.length();
    }

    @Override
    public int capacity() {
        return inner.capacity();
    }

    @Override
    public boolean isFull() {
        return inner.isFull();
    }

    @Override
    public boolean isEmpty() {
        return inner.isEmpty();
    }

    @Override
    public int[] tokens() {
        return inner.tokens();
    }

    @Override
    public void reserve(int n) {
        inner.reserve(n);
    }

    @Override
    public void store(int layer, int position, float[] k, int kOffset, float[] v, int vOffset) {
        inner.store(layer, position, k, kOffset, v, vOffset);
    }

    @Override
    public void advance(int[] tokenIds) {
        inner.advance(tokenIds);
    }

    @Override
    public void advance(int n) {
        inner.advance(n);
    }

    @Override
    public void readKey(int layer, int position, float[] dst, int off) {
        inner.readKey(layer, position, dst, off);
    }

    @Override
    public void readValue(int layer, int position, float[] dst, int off) {
        inner.readValue(layer, position, dst, off);
    }

    @Override
    public void attention(int layer, int position, int queryHeads, float[] q, int qOff, float[] out, int outOff,
                          int headFrom, int headTo, float[] scratch) {
        singlePositionCalls.incrementAndGet();
        inner.attention(layer, position, queryHeads, q, qOff, out, outOff, headFrom, headTo, scratch);
    }

    @Override
    public int attentionScratchSize() {
        return inner.attentionScratchSize();
    }

    @Override
    public int attentionScratchSize(int queryHeads) {
        return inner.attentionScratchSize(queryHeads);
    }

    @Override
    public void attention(int layer, int position, int queryHeads, float[] q, float[] out) {
        inner.attention(layer, position, queryHeads, q, out);
    }

    @Override
    public void clear() {
        inner.clear();
    }

    @Override
    public void truncate(int n) {
        inner.truncate(n);
    }

    @Override
    public KvSequence fork() {
        return inner.fork();
    }

    @Override
    public boolean isPreempted() {
        return inner.isPreempted();
    }

    @Override
    public KvCacheSpec spec() {
        return inner.spec();
    }

    @Override
    public CacheStrategy strategy() {
        return inner.strategy();
    }

    @Override
    public void close() {
        inner.close();
    }
}
