package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Common geometry and argument checks of all matrix types. Subclasses implement the per-type
 * scalar formulas and hand rows to the vector kernels; both work on the absolute byte offset of
 * a row. Immutable and thread-safe.
 */
public abstract class BlockMatrix implements WeightMatrix {
    protected final MemorySegment data;
    protected final int rows;
    protected final int cols;
    protected final long rowBytes;
    /** Blocks per row (elements per row for F32/F16/BF16). */
    protected final int blocks;
    private final GgmlType type;

    protected BlockMatrix(GgmlType type, MemorySegment data, int rows, int cols) {
        this.type = type;
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.rowBytes = type.byteSize(cols);
        this.blocks = cols / type.blockSize();
    }

    @Override
    public final GgmlType type() {
        return type;
    }

    @Override
    public final int rows() {
        return rows;
    }

    @Override
    public final int cols() {
        return cols;
    }

    @Override
    public final void dequantizeRow(int row, float[] dst, int dstOffset) {
        Objects.checkFromIndexSize(dstOffset, cols, dst.length);
        dequantize(rowOffset(row), dst, dstOffset);
    }

    @Override
    public final float dot(int row, float[] x, int xOffset) {
        Objects.checkFromIndexSize(xOffset, cols, x.length);
        long offset = rowOffset(row);
        return VectorSupport.ENABLED ? vectorDot(offset, x, xOffset) : scalarDot(offset, x, xOffset);
    }

    /** The scalar kernel for row {@code row}, whatever {@link VectorSupport#ENABLED} says (tests, benchmarks). */
    public final float scalarDot(int row, float[] x, int xOffset) {
        Objects.checkFromIndexSize(xOffset, cols, x.length);
        return scalarDot(rowOffset(row), x, xOffset);
    }

    /** The vector kernel for row {@code row}; only call when {@link VectorSupport#ENABLED}. */
    public final float vectorDot(int row, float[] x, int xOffset) {
        if (!VectorSupport.ENABLED) {
            throw new IllegalStateException("Vector API kernels are disabled (see VectorSupport)");
        }
        Objects.checkFromIndexSize(xOffset, cols, x.length);
        return vectorDot(rowOffset(row), x, xOffset);
    }

    /**
     * {@code out[outOffset + i] = dot(firstRow + i, x, xOffset)} for {@code i} in
     * {@code [0, count)}: the matrix-vector kernel over a contiguous range of rows (the unit a
     * pool thread streams). Types may override {@link #vectorDotRows} with a kernel that works on
     * several rows at once; results equal {@link #dot} up to float rounding. Allocates nothing.
     *
     * @throws IndexOutOfBoundsException when a row or an array range is out of bounds
     */
    public final void dotRows(int firstRow, int count, float[] x, int xOffset, float[] out, int outOffset) {
        Objects.checkFromIndexSize(firstRow, count, rows);
        Objects.checkFromIndexSize(xOffset, cols, x.length);
        Objects.checkFromIndexSize(outOffset, count, out.length);
        if (VectorSupport.ENABLED) {
            vectorDotRows(firstRow * rowBytes, count, x, xOffset, out, outOffset);
        } else {
            long offset = firstRow * rowBytes;
            for (int i = 0; i < count; i++, offset += rowBytes) {
                out[outOffset + i] = scalarDot(offset, x, xOffset);
            }
        }
    }

    /**
     * The vector kernel over {@code count} consecutive rows starting at byte {@code offset};
     * arguments are checked. The default runs {@link #vectorDot(long, float[], int)} per row.
     */
    protected void vectorDotRows(long offset, int count, float[] x, int xOffset, float[] out, int outOffset) {
        for (int i = 0; i < count; i++, offset += rowBytes) {
            out[outOffset + i] = vectorDot(offset, x, xOffset);
        }
    }

    /**
     * True when this type has a {@link #dotRowsQuantized} kernel: Q8_0 and Q4_0, which multiply in
     * integers against the activation quantized to Q8_0 like llama.cpp (results differ from
     * {@link #dot} by that quantization, and match llama.cpp's own products for these types).
     */
    public boolean quantizesActivations() {
        return false;
    }

    /**
     * Like {@link #dotRows}, against {@code x} quantized by {@link QuantizedActivations#quantize};
     * only for types where {@link #quantizesActivations()} is true. Allocates nothing.
     *
     * @throws IllegalStateException when this type has no such kernel
     * @throws IndexOutOfBoundsException when a row or the output range is out of bounds, or
     *     {@code x} does not hold {@link #cols()} elements
     */
    public final void dotRowsQuantized(int firstRow, int count, QuantizedActivations x, float[] out, int outOffset) {
        checkQuantized(firstRow, count, x, out, outOffset);
        if (VectorSupport.ENABLED) {
            quantizedDotRows(firstRow * rowBytes, count, x, out, outOffset);
        } else {
            long offset = firstRow * rowBytes;
            for (int i = 0; i < count; i++, offset += rowBytes) {
                out[outOffset + i] = scalarQuantizedDot(offset, x.quants(), x.scales());
            }
        }
    }

    /**
     * {@link #dotRowsQuantized} of the same rows against two activations, {@code x0} into
     * {@code out0} and {@code x1} into {@code out1}: bit-identical to two calls, and faster for
     * types whose kernel loads each weight once for both (Q8_0). Allocates nothing.
     *
     * @throws IllegalStateException when this type has no kernel for quantized activations
     * @throws IndexOutOfBoundsException as {@link #dotRowsQuantized}
     */
    public final void dotRowsQuantized(int firstRow, int count, QuantizedActivations x0, float[] out0, int out0Offset,
            QuantizedActivations x1, float[] out1, int out1Offset) {
        if (!VectorSupport.ENABLED) {
            dotRowsQuantized(firstRow, count, x0, out0, out0Offset);
            dotRowsQuantized(firstRow, count, x1, out1, out1Offset);
            return;
        }
        checkQuantized(firstRow, count, x0, out0, out0Offset);
        checkQuantized(firstRow, count, x1, out1, out1Offset);
        quantizedDotRowsPair(firstRow * rowBytes, count, x0, out0, out0Offset, x1, out1, out1Offset);
    }

    private void checkQuantized(int firstRow, int count, QuantizedActivations x, float[] out, int outOffset) {
        if (!quantizesActivations()) {
            throw new IllegalStateException(this + " has no kernel for quantized activations; use dotRows");
        }
        Objects.checkFromIndexSize(firstRow, count, rows);
        Objects.checkFromIndexSize(outOffset, count, out.length);
        if (x.length() != cols) {
            throw new IndexOutOfBoundsException("quantized activations hold " + x.length() + " elements, the rows " + cols);
        }
    }

    /**
     * The vector kernel behind the two-activation {@link #dotRowsQuantized}; arguments are checked.
     * The default runs {@link #quantizedDotRows} once per activation.
     */
    protected void quantizedDotRowsPair(long offset, int count, QuantizedActivations x0, float[] out0, int out0Offset,
            QuantizedActivations x1, float[] out1, int out1Offset) {
        quantizedDotRows(offset, count, x0, out0, out0Offset);
        quantizedDotRows(offset, count, x1, out1, out1Offset);
    }

    /** The vector kernel behind {@link #dotRowsQuantized}; arguments are checked. */
    protected void quantizedDotRows(long offset, int count, QuantizedActivations x, float[] out, int outOffset) {
        throw new IllegalStateException(this + " has no kernel for quantized activations");
    }

    /**
     * The scalar kernel behind {@link #dotRowsQuantized} for the row at byte {@code offset}: per
     * block the exact integer sum of quant products ({@link #quantizedBlockSum}), scaled by
     * {@code d_w * d_x} (every type with this kernel starts its block with the f16 scale; a type
     * that stores its blocks otherwise overrides this).
     */
    protected float scalarQuantizedDot(long offset, short[] xq, float[] xd) {
        long blockBytes = rowBytes / blocks;
        float sum = 0;
        for (int b = 0; b < blocks; b++, offset += blockBytes) {
            sum += quantizedBlockSum(offset, xq, 32 * b) * (Le.f16(data, offset) * xd[b]);
        }
        return sum;
    }

    /**
     * The exact sum of the 32 weight quants of the block at byte {@code offset} times
     * {@code xq[at .. at + 32)}; only for types where {@link #quantizesActivations()} is true.
     */
    protected int quantizedBlockSum(long offset, short[] xq, int at) {
        throw new IllegalStateException(this + " has no kernel for quantized activations");
    }

    protected final long rowOffset(int row) {
        Objects.checkIndex(row, rows);
        return row * rowBytes;
    }

    /** Dequantizes the row at byte {@code offset} into {@code dst[dstOffset..]}. */
    protected abstract void dequantize(long offset, float[] dst, int dstOffset);

    protected abstract float scalarDot(long offset, float[] x, int xOffset);

    protected abstract float vectorDot(long offset, float[] x, int xOffset);

    @Override
    public String toString() {
        return type + " matrix " + rows + " x " + cols;
    }
}
