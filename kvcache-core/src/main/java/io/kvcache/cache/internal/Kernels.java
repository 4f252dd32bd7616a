package io.kvcache.cache.internal;

import java.lang.foreign.MemorySegment;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The inner loops of cached attention. Implementations are stateless and thread-safe.
 * {@link #best()} returns the Vector API implementation when {@code jdk.incubator.vector} is in the
 * boot layer, otherwise a scalar one (the vector class is never loaded without the module).
 */
public interface Kernels {

    /** {@code sum a[aOff+i] * seg.float[byteOff + 4i]} for i in [0, n). */
    float dot(float[] a, int aOff, MemorySegment seg, long byteOff, int n);

    /** {@code y[yOff+i] += w * seg.float[byteOff + 4i]}. */
    void axpy(float w, MemorySegment seg, long byteOff, float[] y, int yOff, int n);

    /** {@code sum a[aOff+i] * b[bOff+i]}. */
    float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /** {@code y[yOff+i] += w * x[xOff+i]}. */
    void axpy(float w, float[] x, int xOff, float[] y, int yOff, int n);

    /** {@code sum a[aOff+i] * x_i} over {@code n} Q8_0-encoded values {@code x} at {@code byteOff} (n % 32 == 0). */
    float dotQ8(float[] a, int aOff, MemorySegment seg, long byteOff, int n);

    /** {@code y[yOff+i] += w * x_i} over {@code n} Q8_0-encoded values {@code x} at {@code byteOff}. */
    void axpyQ8(float w, MemorySegment seg, long byteOff, float[] y, int yOff, int n);

    /** The fastest implementation available in this JVM. */
    static Kernels best() {
        return Holder.BEST;
    }

    /** The scalar implementation (for tests and as fallback). */
    static Kernels scalar() {
        return ScalarKernels.INSTANCE;
    }

    /** Lazy, once-per-JVM selection (class initialization makes it thread-safe). */
    final class Holder {
        static final Kernels BEST = select();

        private Holder() {
        }

        private static Kernels select() {
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
                try {
                    return (Kernels) Class.forName("io.kvcache.cache.internal.VectorKernels")
                            .getDeclaredConstructor().newInstance();
                } catch (ReflectiveOperationException | LinkageError e) {
                    Logger.getLogger(Kernels.class.getName()).log(Level.WARNING,
                            "Vector API kernels unavailable, using scalar attention", e);
                }
            } else {
                Logger.getLogger(Kernels.class.getName()).info("jdk.incubator.vector not present"
                        + " (add --add-modules=jdk.incubator.vector for faster attention); using scalar kernels");
            }
            return ScalarKernels.INSTANCE;
        }
    }
}
