package io.kvcache.cache;

/** Base class of the cache's domain exceptions. The message names the problem and the fix. */
public class KvCacheException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public KvCacheException(String message) {
        super(message);
    }
}
