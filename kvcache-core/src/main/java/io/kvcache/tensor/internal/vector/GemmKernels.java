package io.kvcache.tensor.internal.vector;

import io.kvcache.tensor.internal.Le;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register-blocked float kernels of the batched product (its weight panels are filled by
 * {@link PanelDequant}), in outer-product form: the inputs are packed so that at each column
 * {@code kk} the values of {@value #WIDE} (or {@value #NARROW}) input vectors are contiguous, and
 * a tile broadcasts one weight per row and multiplies it with one or two vectors of inputs. The
 * accumulators hold outputs, so there is no horizontal reduction and every output is one
 * sequential chain {@code acc = fma(w[kk], x[kk], acc)} from zero over {@code kk = 0 .. k-1},
 * whichever tile or edge kernel computed it: results do not depend on how rows are split between
 * threads or panels.
 *
 * <p>4 rows x 16 inputs (8 accumulators, 2 input vectors, one broadcast: 11 registers) ran
 * 48 GMAC/s on one core here against 28 for the previous 2 x 4 dot-product tiles (whose
 * accumulators needed a reduction each, and whose unrolled loop C2 spilled); 8 rows x 8 inputs,
 * for batches of up to 8, 36. Wider tiles (16 x 5, 16 x 6 in the weight-vector form) need 13 or
 * more registers and C2 spills an accumulator, which puts a store-to-load chain in the loop
 * (18-22 GMAC/s). Stateless, thread-safe.
 */
public final class GemmKernels {
    private static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
    /** Inputs per wide tile: two 8-float vectors. */
    public static final int WIDE = 16;
    /** Inputs per narrow tile (batches of up to 8, and the last 1-8 inputs of a batch). */
    public static final int NARROW = 8;
    /** Weight rows per wide tile. */
    public static final int WIDE_ROWS = 4;
    /** Weight rows per narrow tile. */
    public static final int NARROW_ROWS = 8;

    private GemmKernels() {
    }

    /** Floats {@link #pack} writes for {@code n} inputs of {@code k} floats. */
    public static long packedLength(int n, int k) {
        return (long) (n + WIDE - 1) / WIDE * WIDE * k;
    }

    /**
     * The {@code n} inputs of {@code xs} (input {@code t} at {@code t * k}) packed into tiles for
     * {@link #panel}: tile {@code j} starts at input {@code t0 = 16 j} and at float {@code t0 * k};
     * every tile is {@link #WIDE} inputs wide but a last one of at most {@link #NARROW}.
     * {@code xp} holds at least {@link #packedLength} floats.
     */
    public static void pack(float[] xs, int n, int k, float[] xp) {
        for (int t0 = 0; t0 < n; t0 += WIDE) {
            int width = tileWidth(n - t0);
            packTile(xs, t0, Math.min(width, n - t0), width, k, xp, t0 * k);
        }
    }

    /**
     * Rows {@code [0, aRows)} of the row-major panel {@code a} (rows of {@code k} floats) times the
     * {@code n} inputs packed by {@link #pack} into {@code xp}:
     * {@code out[t * outStride + outRow + r]} for {@code t < n}. {@code tile} is scratch of at least
     * 64 floats.
     */
    public static void panel(float[] a, int aRows, int k, float[] xp, int n, float[] out, int outStride, int outRow,
            float[] tile) {
        for (int t0 = 0; t0 < n; t0 += WIDE) {
            int width = tileWidth(n - t0);
            panelTile(a, aRows, k, xp, t0 * k, width, Math.min(width, n - t0), out, t0, outStride, outRow, tile);
        }
    }

    /**
     * {@link #panel} for F32 weights read in place, row {@code r} at {@code offset + r * rowBytes} of
     * {@code seg}, for a batch of one narrow tile ({@code n <= NARROW}, packed by {@link #pack}).
     * Such a batch uses each weight once, so copying the rows into a panel first only puts a
     * memory-bound pass in front of the compute; read in place, the loads stream while the FMAs run
     * (8 inputs over 64K x 768 weights, 2 threads: 22 GB/s of weights against 15.6 through a
     * panel). Every output is the same FMA chain as in {@link #panel}, so the results are the same
     * bits.
     */
    public static void f32InPlace(MemorySegment seg, long offset, long rowBytes, int aRows, int k, float[] xp, int n,
            float[] out, int outStride, int outRow, float[] tile) {
        if (n > NARROW) {
            throw new IllegalArgumentException("f32InPlace takes one narrow tile of inputs, at most " + NARROW
                    + ", got " + n);
        }
        int r = 0;
        for (; r + NARROW_ROWS <= aRows; r += NARROW_ROWS) {
            block8x8(seg, offset + r * rowBytes, rowBytes, k, xp, tile);
            scatter(tile, NARROW_ROWS, NARROW, n, out, 0, outStride, outRow + r);
        }
        for (; r < aRows; r++) {
            block1x8(seg, offset + r * rowBytes, k, xp, tile);
            scatter(tile, 1, NARROW, n, out, 0, outStride, outRow + r);
        }
    }

    /** The width of the tile whose first input has {@code remaining} inputs from it to the end. */
    private static int tileWidth(int remaining) {
        return remaining > NARROW ? WIDE : NARROW;
    }

    /**
     * Packs inputs {@code [t0, t0 + valid)} of {@code xs} (vector {@code t} at {@code t * k}) into
     * {@code xp[at ..)} as a tile of {@code width} inputs: {@code xp[at + kk * width + t]}; the
     * inputs past {@code valid} are zeros.
     */
    private static void packTile(float[] xs, int t0, int valid, int width, int k, float[] xp, int at) {
        for (int t = 0; t < width; t++) {
            int p = at + t;
            if (t < valid) {
                int src = (t0 + t) * k;
                for (int kk = 0; kk < k; kk++, p += width) {
                    xp[p] = xs[src + kk];
                }
            } else {
                for (int kk = 0; kk < k; kk++, p += width) {
                    xp[p] = 0f;
                }
            }
        }
    }

    /**
     * {@link #panel} for the packed input tile at {@code xp[x0 ..)} of {@code width} ({@link #WIDE}
     * or {@link #NARROW}) inputs, of which the first {@code valid} are real:
     * {@code out[(t0 + t) * outStride + outRow + r]} for {@code t < valid}.
     */
    private static void panelTile(float[] a, int aRows, int k, float[] xp, int x0, int width, int valid, float[] out,
            int t0, int outStride, int outRow, float[] tile) {
        int r = 0;
        if (width == WIDE) {
            for (; r + WIDE_ROWS <= aRows; r += WIDE_ROWS) {
                block4x16(a, r * k, k, xp, x0, tile);
                scatter(tile, WIDE_ROWS, WIDE, valid, out, t0, outStride, outRow + r);
            }
            for (; r < aRows; r++) {
                block1x16(a, r * k, k, xp, x0, tile);
                scatter(tile, 1, WIDE, valid, out, t0, outStride, outRow + r);
            }
        } else {
            for (; r + NARROW_ROWS <= aRows; r += NARROW_ROWS) {
                block8x8(a, r * k, k, xp, x0, tile);
                scatter(tile, NARROW_ROWS, NARROW, valid, out, t0, outStride, outRow + r);
            }
            for (; r < aRows; r++) {
                block1x8(a, r * k, k, xp, x0, tile);
                scatter(tile, 1, NARROW, valid, out, t0, outStride, outRow + r);
            }
        }
    }

    /** {@code tile[i * width + t]} (row {@code i}, input {@code t}) into the output vectors. */
    private static void scatter(float[] tile, int rows, int width, int valid, float[] out, int t0, int outStride,
            int outRow) {
        for (int t = 0; t < valid; t++) {
            int o = (t0 + t) * outStride + outRow;
            for (int i = 0; i < rows; i++) {
                out[o + i] = tile[i * width + t];
            }
        }
    }

    private static void block4x16(float[] a, int a0, int k, float[] xp, int x0, float[] tile) {
        int a1 = a0 + k;
        int a2 = a1 + k;
        int a3 = a2 + k;
        FloatVector c0 = FloatVector.zero(F8);
        FloatVector d0 = FloatVector.zero(F8);
        FloatVector c1 = FloatVector.zero(F8);
        FloatVector d1 = FloatVector.zero(F8);
        FloatVector c2 = FloatVector.zero(F8);
        FloatVector d2 = FloatVector.zero(F8);
        FloatVector c3 = FloatVector.zero(F8);
        FloatVector d3 = FloatVector.zero(F8);
        for (int kk = 0; kk < k; kk++) {
            int xi = x0 + WIDE * kk;
            FloatVector u = FloatVector.fromArray(F8, xp, xi);
            FloatVector v = FloatVector.fromArray(F8, xp, xi + 8);
            FloatVector w = FloatVector.broadcast(F8, a[a0 + kk]);
            c0 = w.fma(u, c0);
            d0 = w.fma(v, d0);
            w = FloatVector.broadcast(F8, a[a1 + kk]);
            c1 = w.fma(u, c1);
            d1 = w.fma(v, d1);
            w = FloatVector.broadcast(F8, a[a2 + kk]);
            c2 = w.fma(u, c2);
            d2 = w.fma(v, d2);
            w = FloatVector.broadcast(F8, a[a3 + kk]);
            c3 = w.fma(u, c3);
            d3 = w.fma(v, d3);
        }
        c0.intoArray(tile, 0);
        d0.intoArray(tile, 8);
        c1.intoArray(tile, 16);
        d1.intoArray(tile, 24);
        c2.intoArray(tile, 32);
        d2.intoArray(tile, 40);
        c3.intoArray(tile, 48);
        d3.intoArray(tile, 56);
    }

    private static void block1x16(float[] a, int a0, int k, float[] xp, int x0, float[] tile) {
        FloatVector c = FloatVector.zero(F8);
        FloatVector d = FloatVector.zero(F8);
        for (int kk = 0; kk < k; kk++) {
            int xi = x0 + WIDE * kk;
            FloatVector w = FloatVector.broadcast(F8, a[a0 + kk]);
            c = w.fma(FloatVector.fromArray(F8, xp, xi), c);
            d = w.fma(FloatVector.fromArray(F8, xp, xi + 8), d);
        }
        c.intoArray(tile, 0);
        d.intoArray(tile, 8);
    }

    private static void block8x8(float[] a, int a0, int k, float[] xp, int x0, float[] tile) {
        int a1 = a0 + k;
        int a2 = a1 + k;
        int a3 = a2 + k;
        int a4 = a3 + k;
        int a5 = a4 + k;
        int a6 = a5 + k;
        int a7 = a6 + k;
        FloatVector c0 = FloatVector.zero(F8);
        FloatVector c1 = FloatVector.zero(F8);
        FloatVector c2 = FloatVector.zero(F8);
        FloatVector c3 = FloatVector.zero(F8);
        FloatVector c4 = FloatVector.zero(F8);
        FloatVector c5 = FloatVector.zero(F8);
        FloatVector c6 = FloatVector.zero(F8);
        FloatVector c7 = FloatVector.zero(F8);
        for (int kk = 0; kk < k; kk++) {
            FloatVector u = FloatVector.fromArray(F8, xp, x0 + NARROW * kk);
            c0 = FloatVector.broadcast(F8, a[a0 + kk]).fma(u, c0);
            c1 = FloatVector.broadcast(F8, a[a1 + kk]).fma(u, c1);
            c2 = FloatVector.broadcast(F8, a[a2 + kk]).fma(u, c2);
            c3 = FloatVector.broadcast(F8, a[a3 + kk]).fma(u, c3);
            c4 = FloatVector.broadcast(F8, a[a4 + kk]).fma(u, c4);
            c5 = FloatVector.broadcast(F8, a[a5 + kk]).fma(u, c5);
            c6 = FloatVector.broadcast(F8, a[a6 + kk]).fma(u, c6);
            c7 = FloatVector.broadcast(F8, a[a7 + kk]).fma(u, c7);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, 8);
        c2.intoArray(tile, 16);
        c3.intoArray(tile, 24);
        c4.intoArray(tile, 32);
        c5.intoArray(tile, 40);
        c6.intoArray(tile, 48);
        c7.intoArray(tile, 56);
    }

    private static void block1x8(float[] a, int a0, int k, float[] xp, int x0, float[] tile) {
        FloatVector c = FloatVector.zero(F8);
        for (int kk = 0; kk < k; kk++) {
            c = FloatVector.broadcast(F8, a[a0 + kk]).fma(FloatVector.fromArray(F8, xp, x0 + NARROW * kk), c);
        }
        c.intoArray(tile, 0);
    }

    /**
     * {@link #block8x8} over F32 rows of {@code rowBytes} at byte {@code a0} of {@code seg}, inputs at
     * {@code xp[0 ..)}. Written out again rather than shared with the array form: no vector may
     * cross a method boundary here, and one kernel over panels wrapped as heap segments would make
     * every segment access in it polymorphic (heap and mapped), which C2 compiles as calls.
     */
    private static void block8x8(MemorySegment seg, long a0, long rowBytes, int k, float[] xp, float[] tile) {
        long a1 = a0 + rowBytes;
        long a2 = a1 + rowBytes;
        long a3 = a2 + rowBytes;
        long a4 = a3 + rowBytes;
        long a5 = a4 + rowBytes;
        long a6 = a5 + rowBytes;
        long a7 = a6 + rowBytes;
        FloatVector c0 = FloatVector.zero(F8);
        FloatVector c1 = FloatVector.zero(F8);
        FloatVector c2 = FloatVector.zero(F8);
        FloatVector c3 = FloatVector.zero(F8);
        FloatVector c4 = FloatVector.zero(F8);
        FloatVector c5 = FloatVector.zero(F8);
        FloatVector c6 = FloatVector.zero(F8);
        FloatVector c7 = FloatVector.zero(F8);
        for (int kk = 0; kk < k; kk++) {
            FloatVector u = FloatVector.fromArray(F8, xp, NARROW * kk);
            long o = 4L * kk;
            c0 = FloatVector.broadcast(F8, seg.get(Le.FLOAT, a0 + o)).fma(u, c0);
            c1 = FloatVector.broadcast(F8, seg.get(Le.FLOAT, a1 + o)).fma(u, c1);
            c2 = FloatVector.broadcast(F8, seg.get(Le.FLOAT, a2 + o)).fma(u, c2);
            c3 = FloatVector.broadcast(F8, seg.get(Le.FLOAT, a3 + o)).fma(u, c3);
            c4 = FloatVector.broadcast(F8, seg.get(Le.FLOAT, a4 + o)).fma(u, c4);
            c5 = FloatVector.broadcast(F8, seg.get(Le.FLOAT, a5 + o)).fma(u, c5);
            c6 = FloatVector.broadcast(F8, seg.get(Le.FLOAT, a6 + o)).fma(u, c6);
            c7 = FloatVector.broadcast(F8, seg.get(Le.FLOAT, a7 + o)).fma(u, c7);
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, 8);
        c2.intoArray(tile, 16);
        c3.intoArray(tile, 24);
        c4.intoArray(tile, 32);
        c5.intoArray(tile, 40);
        c6.intoArray(tile, 48);
        c7.intoArray(tile, 56);
    }

    /** {@link #block1x8} over the F32 row at byte {@code a0} of {@code seg}, inputs at {@code xp[0 ..)}. */
    private static void block1x8(MemorySegment seg, long a0, int k, float[] xp, float[] tile) {
        FloatVector c = FloatVector.zero(F8);
        for (int kk = 0; kk < k; kk++) {
            c = FloatVector.broadcast(F8, seg.get(Le.FLOAT, a0 + 4L * kk)).fma(FloatVector.fromArray(F8, xp, NARROW * kk), c);
        }
        c.intoArray(tile, 0);
    }
}
