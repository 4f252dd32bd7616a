package io.kvcache.gguf;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Builds a GGUF file (version 3 by default, or 2) in memory: metadata in insertion order, then
 * tensor infos, then the tensor data, each tensor starting at a multiple of the alignment and
 * padded with zeros to it (as ggml writes files). The output reads back with
 * {@link GgufFile#read(byte[])} to equal metadata and tensors.
 *
 * <p>{@code general.alignment} is written only when {@link #alignment(int)} is called (as a
 * UINT32 after the other keys) or put explicitly; otherwise the default of 32 applies.
 *
 * <p>Not thread-safe: build on one thread.
 */
public final class GgufWriter {
    private int version = 3;
    private int alignment = GgufFile.DEFAULT_ALIGNMENT;
    private boolean alignmentSet;
    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();

    private record Tensor(String name, GgmlType type, long[] shape, byte[] data) {
    }

    /** A writer for version 3 with alignment 32. */
    public GgufWriter() {
    }

    /**
     * Sets the format version: 2 or 3 (they differ only in the number; both are little-endian).
     *
     * @throws IllegalArgumentException for other versions
     */
    public GgufWriter version(int v) {
        if (v != 2 && v != 3) {
            throw new IllegalArgumentException("GGUF version must be 2 or 3, got " + v);
        }
        this.version = v;
        return this;
    }

    /**
     * Sets the data alignment and records it as {@code general.alignment}.
     *
     * @throws IllegalArgumentException unless {@code a} is a power of two between 1 and 2^30
     */
    public GgufWriter alignment(int a) {
        if (a <= 0 || a > (1 << 30) || Integer.bitCount(a) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two in [1, 2^30], got " + a);
        }
        this.alignment = a;
        this.alignmentSet = true;
        if (metadata.containsKey(GgufFile.ALIGNMENT_KEY)) {
            metadata.put(GgufFile.ALIGNMENT_KEY, GgufValue.ofUint32(a));
        }
        return this;
    }

    /**
     * Adds or replaces a metadata entry (replacing keeps the original position).
     *
     * @throws IllegalArgumentException for an empty key, or a {@code general.alignment} that is
     *     not an integer power of two
     */
    public GgufWriter put(String key, GgufValue value) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        if (key.isEmpty()) {
            throw new IllegalArgumentException("metadata keys must not be empty");
        }
        if (key.equals(GgufFile.ALIGNMENT_KEY)) {
            long a = switch (value.value()) {
                case Integer n -> n;
                case Long n -> n;
                default -> throw new IllegalArgumentException("general.alignment must be an integer, got " + value.type());
            };
            // Out-of-int values become -1, which alignment() rejects with the usual message.
            alignment(a == (int) a ? (int) a : -1);
        }
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putString(String key, String value) {
        return put(key, GgufValue.ofString(value));
    }

    /** A UINT32 entry; {@code value} must be in {@code [0, 2^32)}. */
    public GgufWriter putUint32(String key, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("UINT32 value out of range: " + value);
        }
        return put(key, GgufValue.ofUint32(value));
    }

    public GgufWriter putInt32(String key, int value) {
        return put(key, GgufValue.ofInt32(value));
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, GgufValue.ofFloat32(value));
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, GgufValue.ofBool(value));
    }

    public GgufWriter putArray(String key, GgufArray value) {
        return put(key, GgufValue.ofArray(value));
    }

    /**
     * Adds a tensor. {@code shape} is in GGML order ({@code shape[0]} is the row length); the data
     * is copied.
     *
     * @throws IllegalArgumentException for a duplicate or empty name, a rank outside 1..4, a
     *     non-positive dimension, a row length that is not a whole number of blocks, or data whose
     *     length is not {@code type.byteSize(elements)}
     */
    public GgufWriter addTensor(String name, GgmlType type, long[] shape, byte[] data) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("tensor names must not be empty");
        }
        if (!tensorNames.add(name)) {
            throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        }
        try {
            if (shape.length < 1 || shape.length > 4) {
                throw new IllegalArgumentException("tensor '" + name + "' has rank " + shape.length + "; GGUF needs 1..4");
            }
            long elements = 1;
            for (long d : shape) {
                if (d <= 0) {
                    throw new IllegalArgumentException("tensor '" + name + "' has shape " + Arrays.toString(shape)
                            + "; dimensions must be positive");
                }
                elements = Math.multiplyExact(elements, d);
            }
            if (shape[0] % type.blockSize() != 0) {
                throw new IllegalArgumentException("tensor '" + name + "' row length " + shape[0]
                        + " is not a multiple of " + type + "'s block size " + type.blockSize());
            }
            long expected = type.byteSize(elements);
            if (data.length != expected) {
                throw new IllegalArgumentException("tensor '" + name + "' " + type + " " + Arrays.toString(shape)
                        + " needs " + expected + " bytes of data, got " + data.length);
            }
            tensors.add(new Tensor(name, type, shape.clone(), data.clone()));
        } catch (IllegalArgumentException | ArithmeticException e) {
            tensorNames.remove(name);
            throw e instanceof ArithmeticException
                    ? new IllegalArgumentException("tensor '" + name + "' element count overflows", e) : e;
        }
        return this;
    }

    /**
     * The complete file.
     *
     * @throws IllegalStateException when the file would exceed the 2 GB limit of a Java array
     *     (use {@link #write(Path)}, which streams)
     */
    public byte[] toByteArray() {
        byte[] header = header();
        long size = header.length + dataBytes();
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("the file would be " + size + " bytes, too large for a byte array;"
                    + " use write(Path) instead");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) size);
        try {
            writeTo(out, header);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not throw
        }
        return out.toByteArray();
    }

    /** Writes the file, replacing an existing one; streams, so files over 2 GB work. */
    public void write(Path path) {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 20)) {
            writeTo(out, header());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write GGUF file " + path.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    /** Everything before the data section, padded to the alignment. */
    private byte[] header() {
        Out out = new Out();
        out.i32(GgufFile.MAGIC);
        out.i32(version);
        out.i64(tensors.size());
        boolean addAlignmentKey = alignmentSet && !metadata.containsKey(GgufFile.ALIGNMENT_KEY);
        out.i64(metadata.size() + (addAlignmentKey ? 1 : 0));
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.i32(e.getValue().type().id());
            writeValue(out, e.getValue().type(), e.getValue().value());
        }
        if (addAlignmentKey) {
            out.string(GgufFile.ALIGNMENT_KEY);
            out.i32(GgufValueType.UINT32.id());
            out.i32(alignment);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            out.string(t.name);
            out.i32(t.shape.length);
            for (long d : t.shape) {
                out.i64(d);
            }
            out.i32(t.type.id());
            out.i64(offset);
            offset = align(offset + t.data.length);
        }
        out.pad(alignment);
        return out.toByteArray();
    }

    /** Bytes of the data section: each tensor padded to the alignment. */
    private long dataBytes() {
        long total = 0;
        for (Tensor t : tensors) {
            total = align(total + t.data.length);
        }
        return total;
    }

    private void writeTo(OutputStream out, byte[] header) throws IOException {
        out.write(header);
        byte[] zeros = new byte[alignment];
        for (Tensor t : tensors) {
            out.write(t.data);
            int padding = (int) (align(t.data.length) - t.data.length);
            out.write(zeros, 0, padding);
        }
    }

    private long align(long p) {
        return (p + alignment - 1) / alignment * alignment;
    }

    private static void writeValue(Out out, GgufValueType type, Object value) {
        switch (type) {
            case UINT8, INT8 -> out.write((Integer) value);
            case UINT16, INT16 -> out.i16((Integer) value);
            case INT32 -> out.i32((Integer) value);
            case UINT32 -> out.i32((int) (long) (Long) value);
            case UINT64, INT64 -> out.i64((Long) value);
            case FLOAT32 -> out.i32(Float.floatToRawIntBits((Float) value));
            case FLOAT64 -> out.i64(Double.doubleToRawLongBits((Double) value));
            case BOOL -> out.write((Boolean) value ? 1 : 0);
            case STRING -> out.string((String) value);
            case ARRAY -> writeArray(out, (GgufArray) value);
        }
    }

    private static void writeArray(Out out, GgufArray array) {
        GgufValueType et = array.elementType();
        out.i32(et.id());
        out.i64(array.length());
        switch (array.data()) {
            case int[] a -> {
                for (int v : a) {
                    writeValue(out, et, v);
                }
            }
            case long[] a -> {
                for (long v : a) {
                    writeValue(out, et, v);
                }
            }
            case float[] a -> {
                for (float v : a) {
                    out.i32(Float.floatToRawIntBits(v));
                }
            }
            case double[] a -> {
                for (double v : a) {
                    out.i64(Double.doubleToRawLongBits(v));
                }
            }
            case boolean[] a -> {
                for (boolean v : a) {
                    out.write(v ? 1 : 0);
                }
            }
            case String[] a -> {
                for (String v : a) {
                    out.string(v);
                }
            }
            case GgufArray[] a -> {
                for (GgufArray v : a) {
                    writeArray(out, v);
                }
            }
            default -> throw new IllegalStateException("unexpected array storage " + array.data().getClass());
        }
    }

    /** Little-endian byte sink. */
    private static final class Out extends ByteArrayOutputStream {
        Out() {
            super(4096);
        }

        void i16(int v) {
            write(v);
            write(v >>> 8);
        }

        void i32(int v) {
            i16(v);
            i16(v >>> 16);
        }

        void i64(long v) {
            i32((int) v);
            i32((int) (v >>> 32));
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            write(b, 0, b.length);
        }

        void pad(int alignment) {
            while (count % alignment != 0) {
                write(0);
            }
        }
    }
}
