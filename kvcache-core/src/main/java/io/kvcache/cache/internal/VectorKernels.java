package io.kvcache.cache.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** {@link Kernels} on the Vector API; loaded only when {@code jdk.incubator.vector} is present. Thread-safe. */
final class VectorKernels implements Kernels {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    VectorKernels() {
    }

    @Override
    public float dot(float[] a, int aOff, MemorySegment seg, long byteOff, int n) {
        int i = 0;
        float sum = 0f;
        if (n >= LANES) {
            FloatVector acc = FloatVector.zero(SPECIES);
            int bound = SPECIES.loopBound(n);
            for (; i < bound; i += LANES) {
                FloatVector x = FloatVector.fromArray(SPECIES, a, aOff + i);
                FloatVector y = FloatVector.fromMemorySegment(SPECIES, seg, byteOff + 4L * i, ORDER);
                acc = x.fma(y, acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            sum += a[aOff + i] * seg.get(RowCodec.FLOAT, byteOff + 4L * i);
        }
        return sum;
    }

    @Override
    public void axpy(float w, MemorySegment seg, long byteOff, float[] y, int yOff, int n) {
        int i = 0;
        int bound = SPECIES.loopBound(n);
        if (bound > 0) {
            FloatVector wv = FloatVector.broadcast(SPECIES, w);
            for (; i < bound; i += LANES) {
                FloatVector x = FloatVector.fromMemorySegment(SPECIES, seg, byteOff + 4L * i, ORDER);
                x.fma(wv, FloatVector.fromArray(SPECIES, y, yOff + i)).intoArray(y, yOff + i);
            }
        }
        for (; i < n; i++) {
            y[yOff + i] += w * seg.get(RowCodec.FLOAT, byteOff + 4L * i);
        }
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int i = 0;
        float sum = 0f;
        if (n >= LANES) {
            FloatVector acc = FloatVector.zero(SPECIES);
            int bound = SPECIES.loopBound(n);
            for (; i < bound; i += LANES) {
                acc = FloatVector.fromArray(SPECIES, a, aOff + i).fma(FloatVector.fromArray(SPECIES, b, bOff + i), acc);
            }
            sum = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    @Override
    public void axpy(float w, float[] x, int xOff, float[] y, int yOff, int n) {
        int i = 0;
        int bound = SPECIES.loopBound(n);
        if (bound > 0) {
            FloatVector wv = FloatVector.broadcast(SPECIES, w);
            for (; i < bound; i += LANES) {
                FloatVector.fromArray(SPECIES, x, xOff + i).fma(wv, FloatVector.fromArray(SPECIES, y, yOff + i))
                        .intoArray(y, yOff + i);
            }
        }
        for (; i < n; i++) {
            y[yOff + i] += w * x[xOff + i];
        }
    }
}
