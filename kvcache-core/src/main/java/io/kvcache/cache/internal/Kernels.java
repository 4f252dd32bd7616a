package io.kvcache.cache.internal;

import io.kvcache.cache.KvElementType;
import io.kvcache.tensor.internal.Expf;
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

    /**
     * Attention scores of {@code heads} queries against the same {@code rows} consecutive cached rows of
     * {@code n} values in {@code type} (query heads that share a KV head): query {@code j} at
     * {@code q[qOff + j * n ..]}, {@code out[outOff + j * outStride + p] = scale * (query j . row p)},
     * row {@code p} at {@code byteOff + p * rowBytes}. Each row is read (and an F16 or Q8_0 row decoded)
     * once for all the queries. {@code scratch[scratchOff .. + n)} may be used to decode a row.
     */
    default void scores(KvElementType type, float[] q, int qOff, int heads, MemorySegment seg, long byteOff,
                        long rowBytes, int rows, int n, float scale, float[] out, int outOff, int outStride,
                        float[] scratch, int scratchOff) {
        for (int p = 0; p < rows; p++, byteOff += rowBytes) {
            if (type == KvElementType.F16) {
                widenF16(seg, byteOff, rowBytes, 1, n, scratch, scratchOff);
                scoresWidened(q, qOff, heads, scratch, scratchOff, 1, n, scale, out, outOff + p, outStride);
                continue;
            }
            for (int j = 0; j < heads; j++) {
                int qj = qOff + j * n;
                float dot = type == KvElementType.F32 ? dot(q, qj, seg, byteOff, n) : dotQ8(q, qj, seg, byteOff, n);
                out[outOff + j * outStride + p] = dot * scale;
            }
        }
    }

    /**
     * The attention-weighted sums of the same {@code rows} consecutive cached rows (laid out as in
     * {@link #scores}) for {@code heads} query heads: {@code acc[accOff + j * n + i] += sum over p of
     * w[wOff + j * wStride + p] * row_p[i]}.
     */
    default void weightedSum(KvElementType type, float[] w, int wOff, int wStride, int heads, MemorySegment seg,
                             long byteOff, long rowBytes, int rows, int n, float[] acc, int accOff, float[] scratch,
                             int scratchOff) {
        for (int p = 0; p < rows; p++, byteOff += rowBytes) {
            if (type == KvElementType.F16) {
                widenF16(seg, byteOff, rowBytes, 1, n, scratch, scratchOff);
                weightedSumWidened(w, wOff + p, wStride, heads, scratch, scratchOff, 1, n, acc, accOff);
                continue;
            }
            for (int j = 0; j < heads; j++) {
                float weight = w[wOff + j * wStride + p];
                int accJ = accOff + j * n;
                if (type == KvElementType.F32) {
                    axpy(weight, seg, byteOff, acc, accJ, n);
                } else {
                    axpyQ8(weight, seg, byteOff, acc, accJ, n);
                }
            }
        }
    }

    /*
     * F16 rows widened once and then used by many queries (multi-query attention). The F16 paths of
     * scores and weightedSum go through these same methods, so a query gets bit-identical results
     * whether its rows were widened for it alone or for a whole run of queries.
     */

    /** Widens {@code rows} F16 rows of {@code n} values at {@code byteOff} (stride {@code rowBytes}) into {@code dst[dstOff + p * n ..]}; exact. */
    default void widenF16(MemorySegment seg, long byteOff, long rowBytes, int rows, int n, float[] dst, int dstOff) {
        if (rowBytes == 2L * n) {
            // A block's rows of one KV head are contiguous: one long loop, which C2 vectorizes far
            // better than a short loop per row (a head-dim row is only 64-128 halves).
            RowCodec.decodeF16(seg, byteOff, rows * n, dst, dstOff);
            return;
        }
        for (int p = 0; p < rows; p++, byteOff += rowBytes) {
            RowCodec.decodeF16(seg, byteOff, n, dst, dstOff + p * n);
        }
    }

    /**
     * {@link #scores} against rows already widened to F32: row {@code p} at {@code rowsF32[rowsOff + p * n ..]},
     * {@code out[outOff + j * outStride + p] = scale * (query j . row p)}.
     */
    default void scoresWidened(float[] q, int qOff, int heads, float[] rowsF32, int rowsOff, int rows, int n,
                               float scale, float[] out, int outOff, int outStride) {
        for (int p = 0; p < rows; p++) {
            for (int j = 0; j < heads; j++) {
                out[outOff + j * outStride + p] = dot(q, qOff + j * n, rowsF32, rowsOff + p * n, n) * scale;
            }
        }
    }

    /**
     * {@link #weightedSum} of rows already widened to F32 (laid out as in {@link #scoresWidened}):
     * {@code acc[accOff + j * n + i] += sum over p, in order, of w[wOff + j * wStride + p] * row_p[i]}.
     */
    default void weightedSumWidened(float[] w, int wOff, int wStride, int heads, float[] rowsF32, int rowsOff,
                                    int rows, int n, float[] acc, int accOff) {
        for (int p = 0; p < rows; p++) {
            for (int j = 0; j < heads; j++) {
                axpy(w[wOff + j * wStride + p], rowsF32, rowsOff + p * n, acc, accOff + j * n, n);
            }
        }
    }

    /**
     * In place {@code x[i] = exp(x[i] - max)} over {@code [from, from + count)} with {@link Expf}; returns
     * the sum of the results, accumulated in double.
     */
    default double expShifted(float[] x, int from, int count, float max) {
        double sum = 0;
        for (int i = from; i < from + count; i++) {
            float e = Expf.exp(x[i] - max);
            x[i] = e;
            sum += e;
        }
        return sum;
    }

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
