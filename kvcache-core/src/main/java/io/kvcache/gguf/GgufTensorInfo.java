package io.kvcache.gguf;

import java.util.Arrays;

/**
 * One tensor's header entry.
 *
 * @param name the tensor's name, e.g. {@code blk.0.attn_q.weight}
 * @param shape dimensions in GGML order: {@code shape[0]} is the row length (contiguous)
 * @param type element type
 * @param offset byte offset of the data relative to the start of the file's data section
 * @param byteSize bytes of data
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type, long offset, long byteSize) {

    public GgufTensorInfo {
        shape = shape.clone();
    }

    /** A copy of the dimensions, GGML order. */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** Dimension {@code i}, or 1 past the rank. */
    public long dim(int i) {
        return i < shape.length ? shape[i] : 1;
    }

    /** Total elements. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && Arrays.equals(shape, t.shape)
                && type == t.type && offset == t.offset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
