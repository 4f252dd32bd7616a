package io.kvcache.tensor.internal;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.UnsupportedTensorTypeException;
import io.kvcache.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** Creates the matrix implementation for a type after checking the geometry. Stateless, thread-safe. */
public final class Matrices {
    /** Types with kernels, in GGML id order. */
    public static final List<GgmlType> SUPPORTED = List.of(GgmlType.F32, GgmlType.F16, GgmlType.Q4_0,
            GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.BF16);

    private Matrices() {
    }

    public static WeightMatrix create(GgmlType type, MemorySegment data, int rows, int cols, String what) {
        if (!SUPPORTED.contains(type)) {
            throw new UnsupportedTensorTypeException(type, what, SUPPORTED);
        }
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException(what + ": rows (" + rows + ") and cols (" + cols + ") must be positive");
        }
        if (cols % type.blockSize() != 0) {
            throw new IllegalArgumentException(what + ": cols " + cols + " is not a multiple of " + type
                    + "'s block size " + type.blockSize());
        }
        long needed = type.byteSize(cols) * rows;
        if (data.byteSize() < needed) {
            throw new IllegalArgumentException(what + ": " + rows + " x " + cols + " " + type + " needs " + needed
                    + " bytes but the data has " + data.byteSize() + " (check rows/cols and the type)");
        }
        return switch (type) {
            case F32 -> new F32Matrix(data, rows, cols);
            case F16 -> new F16Matrix(data, rows, cols);
            case BF16 -> new BF16Matrix(data, rows, cols);
            case Q8_0 -> new Q8_0Matrix(data, rows, cols);
            case Q4_0 -> new Q4_0Matrix(data, rows, cols);
            case Q4_1 -> new Q4_1Matrix(data, rows, cols);
            case Q5_0 -> new Q5_0Matrix(data, rows, cols);
            case Q5_1 -> new Q5_1Matrix(data, rows, cols);
            case Q4_K -> new Q4_KMatrix(data, rows, cols);
            case Q5_K -> new Q5_KMatrix(data, rows, cols);
            case Q6_K -> new Q6_KMatrix(data, rows, cols);
            default -> throw new UnsupportedTensorTypeException(type, what, SUPPORTED);
        };
    }
}
