package io.kvcache.model;

/**
 * The model file is valid GGUF but describes something the engine cannot run: an unknown
 * architecture, a tensor type without kernels, missing or misshapen tensors. The message lists
 * what is supported.
 */
public class UnsupportedModelException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UnsupportedModelException(String message) {
        super(message);
    }

    public UnsupportedModelException(String message, @org.jspecify.annotations.Nullable Throwable cause) {
        super(message, cause);
    }
}
