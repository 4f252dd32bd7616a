package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.vector.LegacyQuantDots;
import io.kvcache.tensor.internal.vector.PanelDequant;
import io.kvcache.tensor.internal.vector.Q8ActivationDots;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Q4_0: blocks of 32 elements, {@code {f16 d; uint8 qs[16]}} (18 bytes) in the file. Byte
 * {@code j} holds element {@code j} in its low nibble and element {@code j + 16} in its high
 * nibble; {@code y = d * (nibble - 8)}. Immutable, thread-safe.
 *
 * <p>The rows are repacked when the matrix is created, into groups of {@value #GROUP} rows
 * (see {@link #GROUP_BLOCK_BYTES}): per block, the four rows' scales widened to floats, then
 * their four 16-byte quant arrays. The decode kernel takes a group per pass and then reads one
 * address stream with constant offsets, and no half-precision conversion: measured 1.3x the
 * file layout's kernel on one thread (the file layout's four row addresses and f16 scales cost
 * about as many instructions as the arithmetic; see {@link Q8ActivationDots#q4_0}). The
 * price: 20 bytes per block instead of 18 (+11% for Q4_0 weights), in memory of this matrix's
 * own (freed by the garbage collector with the matrix), and one pass over the file's bytes when
 * the model loads. llama.cpp repacks Q4_0 for its CPU kernels too.
 *
 * <p>{@link BlockMatrix} hands the per-row methods the file layout's row offset
 * ({@code row * rowBytes}); they turn it back into the row.
 */
final class Q4_0Matrix extends BlockMatrix {
    static final int BLOCK_BYTES = 18;
    /** Rows per group of the repacked layout. */
    static final int GROUP = 4;
    /** Bytes per block of a group: four float scales, then four rows' 16 quant bytes. */
    static final int GROUP_BLOCK_BYTES = PanelDequant.Q4_0_GROUP_BLOCK;

    Q4_0Matrix(MemorySegment file, int rows, int cols) {
        super(GgmlType.Q4_0, repack(file, rows, cols / 32), rows, cols);
    }

    /** The file's rows in the grouped layout; a last group with fewer rows is padded with zeros. */
    private static MemorySegment repack(MemorySegment file, int rows, int blocks) {
        long groups = (rows + GROUP - 1) / GROUP;
        MemorySegment packed = Arena.ofAuto().allocate(groups * blocks * GROUP_BLOCK_BYTES, 64);
        long fileRowBytes = (long) BLOCK_BYTES * blocks;
        for (int row = 0; row < rows; row++) {
            long src = row * fileRowBytes;
            long dst = groupOffset(row, blocks);
            int k = row % GROUP;
            for (int b = 0; b < blocks; b++, src += BLOCK_BYTES, dst += GROUP_BLOCK_BYTES) {
                packed.set(ValueLayout.JAVA_FLOAT_UNALIGNED, dst + 4L * k, Le.f16(file, src));
                long quants = dst + quantOffset(k);
                packed.set(ValueLayout.JAVA_LONG_UNALIGNED, quants, file.get(ValueLayout.JAVA_LONG_UNALIGNED, src + 2));
                packed.set(ValueLayout.JAVA_LONG_UNALIGNED, quants + 8, file.get(ValueLayout.JAVA_LONG_UNALIGNED, src + 10));
            }
        }
        return packed;
    }

    /** Byte offset of the first block of {@code row}'s group. */
    private static long groupOffset(int row, int blocks) {
        return (long) (row / GROUP) * blocks * GROUP_BLOCK_BYTES;
    }

    /** Offset of row {@code k}'s quants within a group block. */
    private static long quantOffset(int k) {
        return GROUP * 4 + 16L * k;
    }

    private int row(long fileOffset) {
        return (int) (fileOffset / rowBytes);
    }

    @Override
    protected void dequantize(long offset, float[] dst, int dstOffset) {
        int row = row(offset);
        if (VectorSupport.ENABLED) {
            PanelDequant.q4_0(data, groupOffset(row, blocks), row % GROUP, blocks, dst, dstOffset);
            return;
        }
        long block = groupOffset(row, blocks);
        int k = row % GROUP;
        for (int b = 0; b < blocks; b++, block += GROUP_BLOCK_BYTES, dstOffset += 32) {
            float d = data.get(ValueLayout.JAVA_FLOAT_UNALIGNED, block + 4L * k);
            long quants = block + quantOffset(k);
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, quants + j);
                dst[dstOffset + j] = ((q & 0xF) - 8) * d;
                dst[dstOffset + j + 16] = ((q >>> 4) - 8) * d;
            }
        }
    }

    @Override
    protected float scalarDot(long offset, float[] x, int xOffset) {
        int row = row(offset);
        long block = groupOffset(row, blocks);
        int k = row % GROUP;
        float sum = 0;
        for (int b = 0; b < blocks; b++, block += GROUP_BLOCK_BYTES, xOffset += 32) {
            long quants = block + quantOffset(k);
            float s = 0;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, quants + j);
                s += ((q & 0xF) - 8) * x[xOffset + j] + ((q >>> 4) - 8) * x[xOffset + j + 16];
            }
            sum += s * data.get(ValueLayout.JAVA_FLOAT_UNALIGNED, block + 4L * k);
        }
        return sum;
    }

    @Override
    protected float vectorDot(long offset, float[] x, int xOffset) {
        int row = row(offset);
        return LegacyQuantDots.q4_0(data, groupOffset(row, blocks), row % GROUP, blocks, x, xOffset);
    }

    @Override
    public boolean quantizesActivations() {
        return true;
    }

    @Override
    protected float scalarQuantizedDot(long offset, short[] xq, float[] xd) {
        int row = row(offset);
        long block = groupOffset(row, blocks);
        int k = row % GROUP;
        float sum = 0;
        for (int b = 0; b < blocks; b++, block += GROUP_BLOCK_BYTES) {
            long quants = block + quantOffset(k);
            int s = 0;
            for (int j = 0; j < 16; j++) {
                int q = Le.u8(data, quants + j);
                s += ((q & 0xF) - 8) * xq[32 * b + j] + ((q >>> 4) - 8) * xq[32 * b + j + 16];
            }
            sum += s * (data.get(ValueLayout.JAVA_FLOAT_UNALIGNED, block + 4L * k) * xd[b]);
        }
        return sum;
    }

    @Override
    protected void quantizedDotRows(long offset, int count, QuantizedActivations x, float[] out, int outOffset) {
        Q8ActivationDots.q4_0(data, row(offset), count, blocks, x.q4_0Terms(), x.scales(), out, outOffset);
    }
}
