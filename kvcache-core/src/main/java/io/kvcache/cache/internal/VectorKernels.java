package io.kvcache.cache.internal;

import io.kvcache.cache.KvElementType;
import io.kvcache.tensor.internal.vector.VectorExpf;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
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
            FloatVector accSum = acc; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                accSum = accSum.add(accSum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                accSum = accSum.add(accSum.rearrange(SWAP_4));
            }
            accSum = accSum.add(accSum.rearrange(SWAP_2));
            accSum = accSum.add(accSum.rearrange(SWAP_1));
            sum = accSum.lane(0);
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
        FloatVector accSum = acc; // the lanes summed in the fixed order of SWAPS (see there)
        if (LANES >= 16) {
            accSum = accSum.add(accSum.rearrange(SWAP_8));
        }
        if (LANES >= 8) {
            accSum = accSum.add(accSum.rearrange(SWAP_4));
        }
        accSum = accSum.add(accSum.rearrange(SWAP_2));
        accSum = accSum.add(accSum.rearrange(SWAP_1));
        return accSum.lane(0);
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
            FloatVector accSum = acc; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                accSum = accSum.add(accSum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                accSum = accSum.add(accSum.rearrange(SWAP_4));
            }
            accSum = accSum.add(accSum.rearrange(SWAP_2));
            accSum = accSum.add(accSum.rearrange(SWAP_1));
            sum = accSum.lane(0);
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

    /*
     * Row-block kernels. Scores run four rows at a time, each with its own accumulator, so the FMA
     * chains overlap instead of waiting on each other; the weighted sum keeps up to four vectors of
     * the output in registers across all rows of a block instead of loading and storing them per row.
     * F16 rows are widened in registers. Rows whose length is not a multiple of the lane count, and
     * Q8_0 rows, take the per-row paths.
     */

    @Override
    public void scores(KvElementType type, float[] q, int qOff, int heads, MemorySegment seg, long byteOff,
                       long rowBytes, int rows, int n, float scale, float[] out, int outOff, int outStride,
                       float[] scratch, int scratchOff) {
        if (type == KvElementType.Q8_0 || n % LANES != 0) {
            Kernels.super.scores(type, q, qOff, heads, seg, byteOff, rowBytes, rows, n, scale, out, outOff, outStride,
                    scratch, scratchOff);
        } else if (type == KvElementType.F16) {
            // Widened once for every query head of the group, not once per head.
            float[] rowsF32 = widened(seg, byteOff, rowBytes, rows, n);
            scoresWidened(q, qOff, heads, rowsF32, 0, rows, n, scale, out, outOff, outStride);
        } else {
            for (int j = 0; j < heads; j++) {
                scoresF32(q, qOff + j * n, seg, byteOff, rowBytes, rows, n, scale, out, outOff + j * outStride);
            }
        }
    }

    private static void scoresF32(float[] q, int qOff, MemorySegment seg, long byteOff, long rowBytes, int rows, int n,
                                  float scale, float[] out, int outOff) {
        int p = 0;
        for (; p + 4 <= rows; p += 4) {
            long o0 = byteOff + p * rowBytes;
            long o1 = o0 + rowBytes;
            long o2 = o1 + rowBytes;
            long o3 = o2 + rowBytes;
            FloatVector a0 = FloatVector.zero(SPECIES);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int i = 0; i < n; i += LANES) {
                FloatVector qv = FloatVector.fromArray(SPECIES, q, qOff + i);
                a0 = FloatVector.fromMemorySegment(SPECIES, seg, o0 + 4L * i, ORDER).fma(qv, a0);
                a1 = FloatVector.fromMemorySegment(SPECIES, seg, o1 + 4L * i, ORDER).fma(qv, a1);
                a2 = FloatVector.fromMemorySegment(SPECIES, seg, o2 + 4L * i, ORDER).fma(qv, a2);
                a3 = FloatVector.fromMemorySegment(SPECIES, seg, o3 + 4L * i, ORDER).fma(qv, a3);
            }
            FloatVector a0Sum = a0; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                a0Sum = a0Sum.add(a0Sum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                a0Sum = a0Sum.add(a0Sum.rearrange(SWAP_4));
            }
            a0Sum = a0Sum.add(a0Sum.rearrange(SWAP_2));
            a0Sum = a0Sum.add(a0Sum.rearrange(SWAP_1));
            out[outOff + p] = a0Sum.lane(0) * scale;
            FloatVector a1Sum = a1; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                a1Sum = a1Sum.add(a1Sum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                a1Sum = a1Sum.add(a1Sum.rearrange(SWAP_4));
            }
            a1Sum = a1Sum.add(a1Sum.rearrange(SWAP_2));
            a1Sum = a1Sum.add(a1Sum.rearrange(SWAP_1));
            out[outOff + p + 1] = a1Sum.lane(0) * scale;
            FloatVector a2Sum = a2; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                a2Sum = a2Sum.add(a2Sum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                a2Sum = a2Sum.add(a2Sum.rearrange(SWAP_4));
            }
            a2Sum = a2Sum.add(a2Sum.rearrange(SWAP_2));
            a2Sum = a2Sum.add(a2Sum.rearrange(SWAP_1));
            out[outOff + p + 2] = a2Sum.lane(0) * scale;
            FloatVector a3Sum = a3; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                a3Sum = a3Sum.add(a3Sum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                a3Sum = a3Sum.add(a3Sum.rearrange(SWAP_4));
            }
            a3Sum = a3Sum.add(a3Sum.rearrange(SWAP_2));
            a3Sum = a3Sum.add(a3Sum.rearrange(SWAP_1));
            out[outOff + p + 3] = a3Sum.lane(0) * scale;
        }
        for (; p < rows; p++) {
            long o = byteOff + p * rowBytes;
            FloatVector a = FloatVector.zero(SPECIES);
            for (int i = 0; i < n; i += LANES) {
                a = FloatVector.fromMemorySegment(SPECIES, seg, o + 4L * i, ORDER)
                        .fma(FloatVector.fromArray(SPECIES, q, qOff + i), a);
            }
            FloatVector aSum = a; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                aSum = aSum.add(aSum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                aSum = aSum.add(aSum.rearrange(SWAP_4));
            }
            aSum = aSum.add(aSum.rearrange(SWAP_2));
            aSum = aSum.add(aSum.rearrange(SWAP_1));
            out[outOff + p] = aSum.lane(0) * scale;
        }
    }

    @Override
    public void scoresWidened(float[] q, int qOff, int heads, float[] rowsF32, int rowsOff, int rows, int n,
                              float scale, float[] out, int outOff, int outStride) {
        if (n % LANES != 0) {
            Kernels.super.scoresWidened(q, qOff, heads, rowsF32, rowsOff, rows, n, scale, out, outOff, outStride);
            return;
        }
        for (int j = 0; j < heads; j++) {
            scoresF16(q, qOff + j * n, rowsF32, rowsOff, rows, n, scale, out, outOff + j * outStride);
        }
    }

    @Override
    public void weightedSumWidened(float[] w, int wOff, int wStride, int heads, float[] rowsF32, int rowsOff,
                                   int rows, int n, float[] acc, int accOff) {
        if (n % LANES != 0) {
            Kernels.super.weightedSumWidened(w, wOff, wStride, heads, rowsF32, rowsOff, rows, n, acc, accOff);
            return;
        }
        for (int j = 0; j < heads; j++) {
            weightedSumF16(w, wOff + j * wStride, rowsF32, rowsOff, rows, n, acc, accOff + j * n);
        }
    }

    /** Scores against F16 rows already widened into {@code rowsF32} (row p at {@code rowsOff + p * n}). */
    private static void scoresF16(float[] q, int qOff, float[] rowsF32, int rowsOff, int rows, int n, float scale,
                                  float[] out, int outOff) {
        int p = 0;
        for (; p + 4 <= rows; p += 4) {
            int o0 = rowsOff + p * n;
            int o1 = o0 + n;
            int o2 = o1 + n;
            int o3 = o2 + n;
            FloatVector a0 = FloatVector.zero(SPECIES);
            FloatVector a1 = a0;
            FloatVector a2 = a0;
            FloatVector a3 = a0;
            for (int i = 0; i < n; i += LANES) {
                FloatVector qv = FloatVector.fromArray(SPECIES, q, qOff + i);
                a0 = FloatVector.fromArray(SPECIES, rowsF32, o0 + i).fma(qv, a0);
                a1 = FloatVector.fromArray(SPECIES, rowsF32, o1 + i).fma(qv, a1);
                a2 = FloatVector.fromArray(SPECIES, rowsF32, o2 + i).fma(qv, a2);
                a3 = FloatVector.fromArray(SPECIES, rowsF32, o3 + i).fma(qv, a3);
            }
            FloatVector a0Sum = a0; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                a0Sum = a0Sum.add(a0Sum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                a0Sum = a0Sum.add(a0Sum.rearrange(SWAP_4));
            }
            a0Sum = a0Sum.add(a0Sum.rearrange(SWAP_2));
            a0Sum = a0Sum.add(a0Sum.rearrange(SWAP_1));
            out[outOff + p] = a0Sum.lane(0) * scale;
            FloatVector a1Sum = a1; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                a1Sum = a1Sum.add(a1Sum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                a1Sum = a1Sum.add(a1Sum.rearrange(SWAP_4));
            }
            a1Sum = a1Sum.add(a1Sum.rearrange(SWAP_2));
            a1Sum = a1Sum.add(a1Sum.rearrange(SWAP_1));
            out[outOff + p + 1] = a1Sum.lane(0) * scale;
            FloatVector a2Sum = a2; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                a2Sum = a2Sum.add(a2Sum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                a2Sum = a2Sum.add(a2Sum.rearrange(SWAP_4));
            }
            a2Sum = a2Sum.add(a2Sum.rearrange(SWAP_2));
            a2Sum = a2Sum.add(a2Sum.rearrange(SWAP_1));
            out[outOff + p + 2] = a2Sum.lane(0) * scale;
            FloatVector a3Sum = a3; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                a3Sum = a3Sum.add(a3Sum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                a3Sum = a3Sum.add(a3Sum.rearrange(SWAP_4));
            }
            a3Sum = a3Sum.add(a3Sum.rearrange(SWAP_2));
            a3Sum = a3Sum.add(a3Sum.rearrange(SWAP_1));
            out[outOff + p + 3] = a3Sum.lane(0) * scale;
        }
        for (; p < rows; p++) {
            FloatVector a = FloatVector.zero(SPECIES);
            for (int i = 0; i < n; i += LANES) {
                a = FloatVector.fromArray(SPECIES, rowsF32, rowsOff + p * n + i).fma(FloatVector.fromArray(SPECIES, q, qOff + i), a);
            }
            FloatVector aSum = a; // the lanes summed in the fixed order of SWAPS (see there)
            if (LANES >= 16) {
                aSum = aSum.add(aSum.rearrange(SWAP_8));
            }
            if (LANES >= 8) {
                aSum = aSum.add(aSum.rearrange(SWAP_4));
            }
            aSum = aSum.add(aSum.rearrange(SWAP_2));
            aSum = aSum.add(aSum.rearrange(SWAP_1));
            out[outOff + p] = aSum.lane(0) * scale;
        }
    }

    @Override
    public void weightedSum(KvElementType type, float[] w, int wOff, int wStride, int heads, MemorySegment seg,
                            long byteOff, long rowBytes, int rows, int n, float[] acc, int accOff, float[] scratch,
                            int scratchOff) {
        if (type == KvElementType.Q8_0 || n % LANES != 0) {
            Kernels.super.weightedSum(type, w, wOff, wStride, heads, seg, byteOff, rowBytes, rows, n, acc, accOff,
                    scratch, scratchOff);
        } else if (type == KvElementType.F16) {
            // Widened once for every query head of the group, not once per head.
            float[] rowsF32 = widened(seg, byteOff, rowBytes, rows, n);
            weightedSumWidened(w, wOff, wStride, heads, rowsF32, 0, rows, n, acc, accOff);
        } else {
            for (int j = 0; j < heads; j++) {
                weightedSumF32(w, wOff + j * wStride, seg, byteOff, rowBytes, rows, n, acc, accOff + j * n);
            }
        }
    }

    private static void weightedSumF32(float[] w, int wOff, MemorySegment seg, long byteOff, long rowBytes, int rows,
                                       int n, float[] acc, int accOff) {
        int i = 0;
        for (; i + 4 * LANES <= n; i += 4 * LANES) {
            int at = accOff + i;
            FloatVector s0 = FloatVector.fromArray(SPECIES, acc, at);
            FloatVector s1 = FloatVector.fromArray(SPECIES, acc, at + LANES);
            FloatVector s2 = FloatVector.fromArray(SPECIES, acc, at + 2 * LANES);
            FloatVector s3 = FloatVector.fromArray(SPECIES, acc, at + 3 * LANES);
            long o = byteOff;
            for (int p = 0; p < rows; p++, o += rowBytes) {
                FloatVector wv = FloatVector.broadcast(SPECIES, w[wOff + p]);
                s0 = FloatVector.fromMemorySegment(SPECIES, seg, o + 4L * i, ORDER).fma(wv, s0);
                s1 = FloatVector.fromMemorySegment(SPECIES, seg, o + 4L * (i + LANES), ORDER).fma(wv, s1);
                s2 = FloatVector.fromMemorySegment(SPECIES, seg, o + 4L * (i + 2 * LANES), ORDER).fma(wv, s2);
                s3 = FloatVector.fromMemorySegment(SPECIES, seg, o + 4L * (i + 3 * LANES), ORDER).fma(wv, s3);
            }
            s0.intoArray(acc, at);
            s1.intoArray(acc, at + LANES);
            s2.intoArray(acc, at + 2 * LANES);
            s3.intoArray(acc, at + 3 * LANES);
        }
        for (; i < n; i += LANES) {
            FloatVector s = FloatVector.fromArray(SPECIES, acc, accOff + i);
            long o = byteOff;
            for (int p = 0; p < rows; p++, o += rowBytes) {
                s = FloatVector.fromMemorySegment(SPECIES, seg, o + 4L * i, ORDER)
                        .fma(FloatVector.broadcast(SPECIES, w[wOff + p]), s);
            }
            s.intoArray(acc, accOff + i);
        }
    }

    /** Weighted sum of F16 rows already widened into {@code rowsF32} (row p at {@code rowsOff + p * n}). */
    private static void weightedSumF16(float[] w, int wOff, float[] rowsF32, int rowsOff, int rows, int n, float[] acc,
                                       int accOff) {
        int i = 0;
        for (; i + 4 * LANES <= n; i += 4 * LANES) {
            int at = accOff + i;
            FloatVector s0 = FloatVector.fromArray(SPECIES, acc, at);
            FloatVector s1 = FloatVector.fromArray(SPECIES, acc, at + LANES);
            FloatVector s2 = FloatVector.fromArray(SPECIES, acc, at + 2 * LANES);
            FloatVector s3 = FloatVector.fromArray(SPECIES, acc, at + 3 * LANES);
            for (int p = 0, o = rowsOff + i; p < rows; p++, o += n) {
                FloatVector wv = FloatVector.broadcast(SPECIES, w[wOff + p]);
                s0 = FloatVector.fromArray(SPECIES, rowsF32, o).fma(wv, s0);
                s1 = FloatVector.fromArray(SPECIES, rowsF32, o + LANES).fma(wv, s1);
                s2 = FloatVector.fromArray(SPECIES, rowsF32, o + 2 * LANES).fma(wv, s2);
                s3 = FloatVector.fromArray(SPECIES, rowsF32, o + 3 * LANES).fma(wv, s3);
            }
            s0.intoArray(acc, at);
            s1.intoArray(acc, at + LANES);
            s2.intoArray(acc, at + 2 * LANES);
            s3.intoArray(acc, at + 3 * LANES);
        }
        for (; i < n; i += LANES) {
            FloatVector s = FloatVector.fromArray(SPECIES, acc, accOff + i);
            for (int p = 0, o = rowsOff + i; p < rows; p++, o += n) {
                s = FloatVector.fromArray(SPECIES, rowsF32, o).fma(FloatVector.broadcast(SPECIES, w[wOff + p]), s);
            }
            s.intoArray(acc, accOff + i);
        }
    }

    /** Per-thread buffer for widened F16 rows (grows to the largest block seen; attention runs on many threads). */
    private static final ThreadLocal<float[]> WIDENED = ThreadLocal.withInitial(() -> new float[0]);

    /** The {@code rows} F16 rows at {@code byteOff} widened into a per-thread buffer, row p at {@code p * n}. */
    private float[] widened(MemorySegment seg, long byteOff, long rowBytes, int rows, int n) {
        float[] buf = WIDENED.get();
        if (buf.length < rows * n) {
            buf = new float[rows * n];
            WIDENED.set(buf);
        }
        widenF16(seg, byteOff, rowBytes, rows, n, buf, 0);
        return buf;
    }

    /*
     * SWAPS: an accumulator's lanes are summed in a fixed order, written out where each dot product
     * ends: lanes added pairwise with lane i ^ k for k = LANES / 2 .. 1 (halves first), down to
     * lane 0. reduceLanes(ADD) may add in any order, and does differ between the interpreter and
     * compiled code, so the same attention would not always give the same bits (e.g. before and
     * after warm-up, or one query alone and in a run of queries). The shuffles are constants (one
     * read from an array is not, and C2 then falls back to the Java rearrange, which boxes), and
     * the sum is not a helper method: a vector passed to a method C2 did not inline is boxed
     * (measured: with such a helper not inlined, a bench-110m decode step allocated 152 KB per
     * token).
     */

    /** For SWAPS: lane i paired with lane i ^ k (used only when k < LANES). */
    private static final VectorShuffle<Float> SWAP_8 = swap(LANES >= 16 ? 8 : 0);
    private static final VectorShuffle<Float> SWAP_4 = swap(LANES >= 8 ? 4 : 0);
    private static final VectorShuffle<Float> SWAP_2 = swap(2);
    private static final VectorShuffle<Float> SWAP_1 = swap(1);

    private static VectorShuffle<Float> swap(int k) {
        return VectorShuffle.fromOp(SPECIES, i -> i ^ k);
    }

    @Override
    public double expShifted(float[] x, int from, int count, float max) {
        VectorExpf.exp(x, from, count, 1f, max, x, from);
        // Four running sums in a fixed order: the same bits on every path (reduceLanes may add in
        // another order once compiled).
        double s0 = 0;
        double s1 = 0;
        double s2 = 0;
        double s3 = 0;
        int i = from;
        int end = from + count;
        for (; i + 4 <= end; i += 4) {
            s0 += x[i];
            s1 += x[i + 1];
            s2 += x[i + 2];
            s3 += x[i + 3];
        }
        double sum = (s0 + s1) + (s2 + s3);
        for (; i < end; i++) {
            sum += x[i];
        }
        return sum;
    }
}
