package io.kvcache.gguf;

/**
 * A GGUF file is malformed or unsupported. The message names the file, the byte offset where the
 * problem was found, and what was wrong.
 */
public class GgufFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final long offset;

    public GgufFormatException(String message, long offset) {
        super(message + (offset >= 0 ? " (at byte offset " + offset + ")" : ""));
        this.offset = offset;
    }

    public GgufFormatException(String message, long offset, Throwable cause) {
        this(message, offset);
        initCause(cause);
    }

    /** The byte offset in the file where the problem was detected, or -1 when it has none. */
    public long offset() {
        return offset;
    }
}
