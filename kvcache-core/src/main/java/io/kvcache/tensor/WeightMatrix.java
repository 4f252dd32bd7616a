package io.kvcache.tensor;

import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufTensorInfo;
import io.kvcache.tensor.internal.Matrices;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A read-only matrix of {@link #rows()} rows by {@link #cols()} columns in one GGML type over a
 * {@link MemorySegment}: row {@code r} holds {@code cols} elements starting at byte
 * {@code r * type.byteSize(cols)}, little-endian, with no alignment requirement.
 *
 * <p>Immutable and thread-safe (as long as the segment stays alive: a matrix over a closed
 * {@link GgufFile} throws {@link IllegalStateException} on access).
 */
public interface WeightMatrix {

    /** The types {@link #of(GgmlType, MemorySegment, int, int)} accepts, in GGML id order. */
    static List<GgmlType> supportedTypes() {
        return Matrices.SUPPORTED;
    }

    /**
     * A matrix over {@code data}: a view of it, except for Q4_0, whose rows are copied at once into
     * a layout of the matrix's own (groups of four rows, float scales; 20 bytes per 32 elements
     * instead of 18) that its decode kernel reads faster; that copy lives as long as the matrix and
     * no longer depends on {@code data}.
     *
     * @throws UnsupportedTensorTypeException for types without kernels (the message lists the
     *     supported types)
     * @throws IllegalArgumentException when {@code rows} or {@code cols} is not positive, when
     *     {@code cols} is not a whole number of the type's blocks, or when {@code data} is smaller
     *     than {@code rows x cols} elements
     */
    static WeightMatrix of(GgmlType type, MemorySegment data, int rows, int cols) {
        return Matrices.create(type, data, rows, cols, "matrix");
    }

    /**
     * A matrix over a GGUF tensor of rank 1 or 2: {@code cols = shape[0]},
     * {@code rows = shape[1]} (1 for rank 1). Higher ranks are accepted when the extra dimensions
     * are 1.
     *
     * @throws IllegalArgumentException when the tensor has more than two non-trivial dimensions
     *     or a dimension exceeds {@code Integer.MAX_VALUE}
     * @throws UnsupportedTensorTypeException for types without kernels
     */
    static WeightMatrix of(GgufFile file, GgufTensorInfo info) {
        for (int d = 2; d < info.rank(); d++) {
            if (info.dim(d) != 1) {
                throw new IllegalArgumentException("tensor '" + info.name() + "' in " + file.name() + " has shape "
                        + java.util.Arrays.toString(info.shape()) + "; only rank-1 and rank-2 tensors are matrices"
                        + " (index the higher dimensions yourself with tensorData)");
            }
        }
        long cols = info.dim(0);
        long rows = info.dim(1);
        if (cols > Integer.MAX_VALUE || rows > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("tensor '" + info.name() + "' in " + file.name() + " has shape "
                    + java.util.Arrays.toString(info.shape()) + ", too large for a matrix (each dimension must fit an int)");
        }
        return Matrices.create(info.type(), file.tensorData(info), (int) rows, (int) cols,
                "tensor '" + info.name() + "' in " + file.name());
    }

    GgmlType type();

    int rows();

    int cols();

    /**
     * Writes row {@code row} as floats into {@code dst[dstOffset .. dstOffset + cols())}, with
     * exactly the values llama.cpp's {@code dequantize_row_*} produces.
     *
     * @throws IndexOutOfBoundsException when {@code row} or the destination range is out of bounds
     */
    void dequantizeRow(int row, float[] dst, int dstOffset);

    /**
     * The dot product of row {@code row} with {@code x[xOffset .. xOffset + cols())}, dequantizing
     * on the fly. Equal to dequantize-then-dot up to float rounding (summation order differs).
     *
     * @throws IndexOutOfBoundsException when {@code row} or the input range is out of bounds
     */
    float dot(int row, float[] x, int xOffset);
}
