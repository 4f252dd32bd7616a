package io.kvcache.cache;

/** Base class of the cache's domain exceptions. The message names the problem and the fix. *
 * <p>Like any exception, safe to share between threads once thrown.
 */
public class KvCacheException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public KvCacheException(String message) {
        super(message);
    }
}
