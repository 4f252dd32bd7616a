package io.kvcache.spring.autoconfigure;

import org.jspecify.annotations.Nullable;

/**
 * A {@code kvcache.*} configuration that cannot work: what is wrong ({@link #getMessage()}) and what
 * to change ({@link #action()}). {@link KvCacheFailureAnalyzer} turns it into a startup report.
 * Immutable and thread-safe.
 */
public class KvCacheConfigurationException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String action;

    public KvCacheConfigurationException(String description, String action) {
        this(description, action, null);
    }

    public KvCacheConfigurationException(String description, String action, @Nullable Throwable cause) {
        super(description, cause);
        this.action = action;
    }

    /** What to change, naming the {@code kvcache.*} properties involved. */
    public String action() {
        return action;
    }

    /** What is wrong. */
    public String description() {
        String message = getMessage();
        return message == null ? "" : message;
    }
}
