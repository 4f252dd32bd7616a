package io.kvcache.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Bounds-checked GGUF header parser. Every read checks the bytes left before touching memory. */
final class GgufParser {
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    /** Nested arrays deeper than this are rejected (real files use depth 1). */
    static final int MAX_ARRAY_DEPTH = 8;
    /** Longest key accepted; real keys are a few dozen bytes. */
    static final long MAX_KEY_LENGTH = 65_535;
    static final int MAX_RANK = 4;

    private final MemorySegment seg;
    private final String file;
    private final long size;
    private long pos;

    int version;
    final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    final List<GgufTensorInfo> tensors = new ArrayList<>();
    int alignment = GgufFile.DEFAULT_ALIGNMENT;
    long dataOffset;

    GgufParser(MemorySegment seg, String file) {
        this.seg = seg;
        this.file = file;
        this.size = seg.byteSize();
    }

    void parse() {
        need(4, "magic");
        int magic = seg.get(INT, 0);
        if (magic != GgufFile.MAGIC) {
            throw error("not a GGUF file: magic is 0x" + Integer.toHexString(magic) + ", expected 'GGUF'", 0);
        }
        pos = 4;
        need(4, "version");
        version = seg.get(INT, pos);
        if (version == 1) {
            throw error("GGUF version 1 is not supported (only 2 and 3); re-convert the model with a current llama.cpp", pos);
        }
        if (version != 2 && version != 3) {
            String hint = Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3
                    ? " (this looks like a big-endian GGUF, which is not supported)" : "";
            throw error("unsupported GGUF version " + Integer.toUnsignedString(version) + hint, pos);
        }
        pos += 4;
        long tensorCount = readCount("tensor count", 8 + 4 + 4 + 8 + 8);
        long kvCount = readCount("metadata count", 8 + 4 + 1);

        for (long i = 0; i < kvCount; i++) {
            long keyAt = pos;
            String key = readString("metadata key", MAX_KEY_LENGTH);
            if (key.isEmpty()) {
                throw error("metadata key " + i + " is empty", keyAt);
            }
            if (metadata.containsKey(key)) {
                throw error("duplicate metadata key '" + key + "'", keyAt);
            }
            long typeAt = pos;
            GgufValueType type = readType("metadata '" + key + "'");
            metadata.put(key, new GgufValue(type, readValue(type, key, 0, typeAt)));
        }

        GgufValue align = metadata.get(GgufFile.ALIGNMENT_KEY);
        if (align != null) {
            long a = switch (align.value()) {
                case Integer n -> n;
                case Long n -> n;
                default -> throw error("general.alignment must be an integer, is " + align.type(), -1);
            };
            if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
                throw error("general.alignment = " + a + " is not a power of two", -1);
            }
            alignment = (int) a;
        }

        Set<String> names = new HashSet<>();
        long[] offsets = new long[(int) tensorCount];
        for (int i = 0; i < tensorCount; i++) {
            long infoAt = pos;
            String name = readString("tensor name", MAX_KEY_LENGTH);
            if (!names.add(name)) {
                throw error("duplicate tensor name '" + name + "'", infoAt);
            }
            long rankAt = pos;
            need(4, "rank of tensor '" + name + "'");
            int rank = seg.get(INT, pos);
            pos += 4;
            if (rank < 1 || rank > MAX_RANK) {
                throw error("tensor '" + name + "' has rank " + Integer.toUnsignedString(rank) + " (must be 1.." + MAX_RANK + ")", rankAt);
            }
            long[] shape = new long[rank];
            long elements = 1;
            for (int d = 0; d < rank; d++) {
                long dimAt = pos;
                need(8, "dimension of tensor '" + name + "'");
                long dim = seg.get(LONG, pos);
                pos += 8;
                if (dim <= 0) {
                    throw error("tensor '" + name + "' dimension " + d + " is " + Long.toUnsignedString(dim) + " (must be positive)", dimAt);
                }
                if (elements > Long.MAX_VALUE / dim) {
                    throw error("tensor '" + name + "' element count overflows", dimAt);
                }
                elements *= dim;
                shape[d] = dim;
            }
            long typeAt = pos;
            need(4, "type of tensor '" + name + "'");
            int typeId = seg.get(INT, pos);
            pos += 4;
            GgmlType type = GgmlType.byId(Integer.toUnsignedLong(typeId));
            if (type == null) {
                throw error("tensor '" + name + "' has unknown ggml type " + Integer.toUnsignedString(typeId), typeAt);
            }
            if (shape[0] % type.blockSize() != 0) {
                throw error("tensor '" + name + "' row length " + shape[0] + " is not a multiple of " + type
                        + "'s block size " + type.blockSize(), typeAt);
            }
            long bytes = type.byteSize(elements);
            if (bytes < 0) {
                throw error("tensor '" + name + "' byte size overflows", typeAt);
            }
            long offAt = pos;
            need(8, "offset of tensor '" + name + "'");
            long off = seg.get(LONG, pos);
            pos += 8;
            if (off < 0 || off % alignment != 0) {
                throw error("tensor '" + name + "' data offset " + Long.toUnsignedString(off)
                        + " is not a multiple of the alignment " + alignment, offAt);
            }
            offsets[i] = offAt;
            tensors.add(new GgufTensorInfo(name, shape, type, off, bytes));
        }

        dataOffset = align(pos, alignment);
        if (tensorCount > 0 && dataOffset > size) {
            throw error("data section starts at " + dataOffset + ", past the end of the file (" + size + " bytes)", pos);
        }
        for (int i = 0; i < tensors.size(); i++) {
            GgufTensorInfo t = tensors.get(i);
            long room = size - dataOffset;
            if (t.offset() > room || t.byteSize() > room - t.offset()) {
                throw error("tensor '" + t.name() + "' data [" + t.offset() + ", +" + t.byteSize()
                        + ") lies past the end of the file (data section has " + Math.max(0, room)
                        + " bytes); the file is truncated or corrupt", offsets[i]);
            }
        }
    }

    private static long align(long p, int alignment) {
        return (p + alignment - 1) / alignment * alignment;
    }

    /** Reads a u64 count and checks it against the bytes left, given each item's minimum size. */
    private long readCount(String what, long minItemBytes) {
        long at = pos;
        need(8, what);
        long n = seg.get(LONG, pos);
        pos += 8;
        if (n < 0 || n > (size - pos) / minItemBytes || n > Integer.MAX_VALUE - 8) {
            throw error(what + " " + Long.toUnsignedString(n) + " is impossible for a file of " + size + " bytes", at);
        }
        return n;
    }

    private GgufValueType readType(String what) {
        long at = pos;
        need(4, "type of " + what);
        int id = seg.get(INT, pos);
        pos += 4;
        GgufValueType t = GgufValueType.byId(id);
        if (t == null) {
            throw error("unknown value type " + Integer.toUnsignedString(id) + " for " + what, at);
        }
        return t;
    }

    private Object readValue(GgufValueType type, String key, int depth, long at) {
        return switch (type) {
            case UINT8 -> { need(1, key); yield Byte.toUnsignedInt(seg.get(ValueLayout.JAVA_BYTE, pos++)); }
            case INT8 -> { need(1, key); yield (int) seg.get(ValueLayout.JAVA_BYTE, pos++); }
            case UINT16 -> { need(2, key); int v = Short.toUnsignedInt(seg.get(SHORT, pos)); pos += 2; yield v; }
            case INT16 -> { need(2, key); int v = seg.get(SHORT, pos); pos += 2; yield v; }
            case INT32 -> { need(4, key); int v = seg.get(INT, pos); pos += 4; yield v; }
            case UINT32 -> { need(4, key); long v = Integer.toUnsignedLong(seg.get(INT, pos)); pos += 4; yield v; }
            case INT64, UINT64 -> { need(8, key); long v = seg.get(LONG, pos); pos += 8; yield v; }
            case FLOAT32 -> { need(4, key); float v = seg.get(FLOAT, pos); pos += 4; yield v; }
            case FLOAT64 -> { need(8, key); double v = seg.get(DOUBLE, pos); pos += 8; yield v; }
            case BOOL -> {
                need(1, key);
                byte b = seg.get(ValueLayout.JAVA_BYTE, pos);
                if (b != 0 && b != 1) {
                    throw error("metadata '" + key + "' bool has value " + Byte.toUnsignedInt(b) + " (must be 0 or 1)", pos);
                }
                pos++;
                yield b == 1;
            }
            case STRING -> readString("metadata '" + key + "'", size);
            case ARRAY -> readArray(key, depth, at);
        };
    }

    private GgufArray readArray(String key, int depth, long at) {
        if (depth >= MAX_ARRAY_DEPTH) {
            throw error("metadata '" + key + "' nests arrays deeper than " + MAX_ARRAY_DEPTH, at);
        }
        GgufValueType et = readType("elements of '" + key + "'");
        long minItem = switch (et) {
            case STRING -> 8;
            case ARRAY -> 12;
            default -> et.size();
        };
        int n = (int) readCount("length of array '" + key + "'", minItem);
        Object data = switch (et) {
            case UINT8, INT8, UINT16, INT16, INT32 -> {
                int[] a = new int[n];
                for (int i = 0; i < n; i++) {
                    a[i] = (Integer) readValue(et, key, depth, pos);
                }
                yield a;
            }
            case UINT32, INT64, UINT64 -> {
                long[] a = new long[n];
                for (int i = 0; i < n; i++) {
                    a[i] = (Long) readValue(et, key, depth, pos);
                }
                yield a;
            }
            case FLOAT32 -> {
                float[] a = new float[n];
                MemorySegment.copy(seg, FLOAT, pos, a, 0, n);
                pos += 4L * n;
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[n];
                MemorySegment.copy(seg, DOUBLE, pos, a, 0, n);
                pos += 8L * n;
                yield a;
            }
            case BOOL -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) {
                    a[i] = (Boolean) readValue(et, key, depth, pos);
                }
                yield a;
            }
            case STRING -> {
                String[] a = new String[n];
                for (int i = 0; i < n; i++) {
                    a[i] = readString("element " + i + " of '" + key + "'", size);
                }
                yield a;
            }
            case ARRAY -> {
                GgufArray[] a = new GgufArray[n];
                for (int i = 0; i < n; i++) {
                    a[i] = readArray(key, depth + 1, pos);
                }
                yield a;
            }
        };
        return GgufArray.wrap(et, data, n);
    }

    private String readString(String what, long maxLength) {
        long at = pos;
        need(8, "length of " + what);
        long len = seg.get(LONG, pos);
        pos += 8;
        if (len < 0 || len > size - pos || len > Math.min(maxLength, 1L << 30)) {
            throw error("length " + Long.toUnsignedString(len) + " of " + what + " runs past the end of the file ("
                    + size + " bytes)", at);
        }
        byte[] bytes = new byte[(int) len];
        MemorySegment.copy(seg, ValueLayout.JAVA_BYTE, pos, bytes, 0, (int) len);
        pos += len;
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private void need(long n, String what) {
        if (pos > size - n) {
            throw error("unexpected end of file reading " + what + " (file has " + size + " bytes)", pos);
        }
    }

    private GgufFormatException error(String message, long at) {
        return new GgufFormatException(file + ": " + message, at);
    }
}
