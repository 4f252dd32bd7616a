package io.kvcache.cache.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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
    public float dotQ8(float[] a, int aOff, MemorySegment seg, long byteOff, int n) {
        float sum = 0f;
        for (int g = 0; g < n / 32; g++) {
            long at = byteOff + g * 34L;
            float partial = 0f;
            for (int i = 0; i < 32; i++) {
                partial += a[aOff + g * 32 + i] * seg.get(ValueLayout.JAVA_BYTE, at + 2 + i);
            }
            sum += partial * Float.float16ToFloat(seg.get(RowCodec.SHORT, at));
        }
        return sum;
    }

    @Override
    public void axpyQ8(float w, MemorySegment seg, long byteOff, float[] y, int yOff, int n) {
        for (int g = 0; g < n / 32; g++) {
            long at = byteOff + g * 34L;
            float scaled = w * Float.float16ToFloat(seg.get(RowCodec.SHORT, at));
            for (int i = 0; i < 32; i++) {
                y[yOff + g * 32 + i] += scaled * seg.get(ValueLayout.JAVA_BYTE, at + 2 + i);
            }
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
