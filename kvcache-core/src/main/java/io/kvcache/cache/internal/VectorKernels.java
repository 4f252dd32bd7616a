package io.kvcache.cache.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** {@link Kernels} on the Vector API; loaded only when {@code jdk.incubator.vector} is present. Thread-safe. */
final class VectorKernels implements Kernels {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /** Bytes with as many lanes as {@link #SPECIES}, widened to floats for Q8_0. */
    private static final VectorSpecies<Byte> BYTES =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, LANES * 8)));

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
    public float dotQ8(float[] a, int aOff, MemorySegment seg, long byteOff, int n) {
        if (32 % LANES != 0) {
            return ScalarKernels.INSTANCE.dotQ8(a, aOff, seg, byteOff, n);
        }
        FloatVector acc = FloatVector.zero(SPECIES);
        for (int g = 0; g < n / 32; g++) {
            long at = byteOff + g * 34L;
            FloatVector group = FloatVector.zero(SPECIES);
            for (int i = 0; i < 32; i += LANES) {
                FloatVector x = (FloatVector) ByteVector.fromMemorySegment(BYTES, seg, at + 2 + i, ORDER)
                        .convertShape(VectorOperators.B2F, SPECIES, 0);
                group = FloatVector.fromArray(SPECIES, a, aOff + g * 32 + i).fma(x, group);
            }
            acc = group.fma(FloatVector.broadcast(SPECIES, Float.float16ToFloat(seg.get(RowCodec.SHORT, at))), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    @Override
    public void axpyQ8(float w, MemorySegment seg, long byteOff, float[] y, int yOff, int n) {
        if (32 % LANES != 0) {
            ScalarKernels.INSTANCE.axpyQ8(w, seg, byteOff, y, yOff, n);
            return;
        }
        for (int g = 0; g < n / 32; g++) {
            long at = byteOff + g * 34L;
            FloatVector scaled = FloatVector.broadcast(SPECIES, w * Float.float16ToFloat(seg.get(RowCodec.SHORT, at)));
            for (int i = 0; i < 32; i += LANES) {
                int yi = yOff + g * 32 + i;
                FloatVector x = (FloatVector) ByteVector.fromMemorySegment(BYTES, seg, at + 2 + i, ORDER)
                        .convertShape(VectorOperators.B2F, SPECIES, 0);
                x.fma(scaled, FloatVector.fromArray(SPECIES, y, yi)).intoArray(y, yi);
            }
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
