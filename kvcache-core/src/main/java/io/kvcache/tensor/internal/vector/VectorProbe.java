package io.kvcache.tensor.internal.vector;

import jdk.incubator.vector.FloatVector;

/** Loaded only after the module check: touching it without the module fails with a LinkageError. */
public final class VectorProbe {
    private VectorProbe() {
    }

    public static int preferredFloatLanes() {
        return FloatVector.SPECIES_PREFERRED.length();
    }
}
