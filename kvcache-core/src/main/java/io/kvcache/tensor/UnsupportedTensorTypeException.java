package io.kvcache.tensor;

import io.kvcache.gguf.GgmlType;
import java.util.List;

/**
 * A tensor uses a GGML type this engine has no kernels for. The message names the type and lists
 * the supported ones; the fix is to re-quantize the model to one of them (for example with
 * llama.cpp's {@code llama-quantize ... Q8_0}). Immutable, thread-safe.
 */
public final class UnsupportedTensorTypeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final GgmlType type;

    public UnsupportedTensorTypeException(GgmlType type, String what, List<GgmlType> supported) {
        super(what + ": GGML type " + type + " is not supported (supported: " + supported
                + "); re-quantize the model to one of these types, e.g. with llama.cpp's llama-quantize");
        this.type = type;
    }

    /** The unsupported type. */
    public GgmlType type() {
        return type;
    }
}
