package io.kvcache.tensor.internal.vector;

/**
 * Loaded only after the module check: touching it without the module fails with a LinkageError.
 * Stateless, thread-safe.
 */
public final class VectorProbe {
    private VectorProbe() {
    }

    /** Float lanes of the kernels' species (the preferred one unless overridden, see Species). */
    public static int preferredFloatLanes() {
        return Species.L;
    }
}
