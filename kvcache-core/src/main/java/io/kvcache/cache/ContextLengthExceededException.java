package io.kvcache.cache;

/** A sequence would grow past its capacity (the spec's context length). Nothing was changed. *
 * <p>Like any exception, safe to share between threads once thrown.
 */
public class ContextLengthExceededException extends KvCacheException {
    private static final long serialVersionUID = 1L;

    private final int length;
    private final int requested;
    private final int capacity;

    public ContextLengthExceededException(long sequenceId, int length, int requested, int capacity) {
        super("sequence " + sequenceId + " has " + length + " positions; " + requested
                + " more would exceed its capacity of " + capacity
                + " (the context length; truncate() the sequence, start a new one, or build the cache"
                + " with a larger KvCacheSpec.contextLength)");
        this.length = length;
        this.requested = requested;
        this.capacity = capacity;
    }

    /** For callers that check before touching a sequence (e.g. a prompt longer than the context). */
    public ContextLengthExceededException(String message, int length, int requested, int capacity) {
        super(message);
        this.length = length;
        this.requested = requested;
        this.capacity = capacity;
    }

    public int length() {
        return length;
    }

    public int requested() {
        return requested;
    }

    public int capacity() {
        return capacity;
    }
}
