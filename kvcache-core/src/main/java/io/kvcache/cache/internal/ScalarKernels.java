package io.kvcache.cache.internal;

import java.lang.foreign.MemorySegment;

/** Plain-Java {@link Kernels}. Thread-safe. */
final class ScalarKernels implements Kernels {
    static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {
    }

    @Override
    public float dot(float[] a, int aOff, MemorySegment seg, long byteOff, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += a[aOff + i] * seg.get(RowCodec.FLOAT, byteOff + 4L * i);
        }
        return sum;
    }

    @Override
    public void axpy(float w, MemorySegment seg, long byteOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += w * seg.get(RowCodec.FLOAT, byteOff + 4L * i);
        }
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += a[aOff + i] * b[bOff + i];
        }
        return sum;
    }

    @Override
    public void axpy(float w, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += w * x[xOff + i];
        }
    }
}
