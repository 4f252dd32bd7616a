package io.kvcache.tensor.internal;

import java.lang.System.Logger.Level;

/**
 * Decides once whether the Vector API kernels run. They need the {@code jdk.incubator.vector}
 * module in the boot layer and a preferred float vector of 8 or 16 lanes (AVX2 / AVX-512); the
 * kernel classes are only loaded when this flag is true, so the engine works without
 * {@code --add-modules}. {@code -Dkvcache.vector=false} forces the scalar code. Thread-safe
 * (the decision is a constant).
 */
public final class VectorSupport {
    /** True when the Vector API kernels are used. */
    public static final boolean ENABLED = detect();

    private VectorSupport() {
    }

    private static boolean detect() {
        System.Logger log = System.getLogger("io.kvcache.tensor");
        if (!Boolean.parseBoolean(System.getProperty("kvcache.vector", "true"))) {
            log.log(Level.INFO, "kvcache: Vector API kernels disabled by -Dkvcache.vector=false; using scalar kernels");
            return false;
        }
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
            log.log(Level.WARNING, "kvcache: the Vector API is unavailable, using slower scalar kernels;"
                    + " run the JVM with --add-modules=jdk.incubator.vector for full speed");
            return false;
        }
        try {
            int lanes = io.kvcache.tensor.internal.vector.VectorProbe.preferredFloatLanes();
            if (lanes != 8 && lanes != 16) {
                log.log(Level.WARNING, "kvcache: preferred float vector has " + lanes
                        + " lanes (kernels need 8 or 16); using scalar kernels");
                return false;
            }
            return true;
        } catch (LinkageError e) {
            log.log(Level.WARNING, "kvcache: the Vector API failed to load (" + e + "); using scalar kernels");
            return false;
        }
    }
}
