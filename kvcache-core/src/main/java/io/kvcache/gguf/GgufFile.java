package io.kvcache.gguf;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A parsed GGUF file: version, metadata, tensor infos and memory-mapped tensor data.
 *
 * <p>Everything is validated at open: counts against the bytes left, string and array lengths,
 * tensor shapes (rank 1..4, positive dimensions, no overflow, whole blocks), alignment, and every
 * tensor's data range against the file length. Malformed input raises
 * {@link GgufFormatException}; nothing is allocated in proportion to an unchecked count.
 *
 * <p>Thread-safe: all state is immutable after open. {@link #close()} unmaps the file; tensor
 * segments obtained before then become inaccessible (access throws, never crashes).
 */
public final class GgufFile implements AutoCloseable {
    /** {@code "GGUF"} read as a little-endian int. */
    public static final int MAGIC = 0x46554747;
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final String ALIGNMENT_KEY = "general.alignment";

    private final String name;
    private final @Nullable Path path;
    private final @Nullable Arena arena;
    private final MemorySegment segment;
    private final int version;
    private final GgufMetadata metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private final int alignment;
    private final long dataOffset;

    private GgufFile(String name, @Nullable Path path, @Nullable Arena arena, MemorySegment segment) {
        this.name = name;
        this.path = path;
        this.arena = arena;
        this.segment = segment;
        GgufParser p = new GgufParser(segment, name);
        p.parse();
        this.version = p.version;
        this.metadata = new GgufMetadata(p.metadata);
        this.tensors = List.copyOf(p.tensors);
        Map<String, GgufTensorInfo> byName = new LinkedHashMap<>();
        for (GgufTensorInfo t : tensors) {
            byName.put(t.name(), t);
        }
        this.tensorsByName = Collections.unmodifiableMap(byName);
        this.alignment = p.alignment;
        this.dataOffset = p.dataOffset;
    }

    /**
     * Memory-maps and parses a GGUF file.
     *
     * @throws GgufFormatException when the file is malformed
     * @throws UncheckedIOException when the file cannot be read (the message names the path)
     */
    public static GgufFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            MemorySegment seg = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena).asReadOnly();
            return new GgufFile(path.getFileName().toString(), path, arena, seg);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new UncheckedIOException("model file not found: " + path.toAbsolutePath()
                    + " (check the path)", e);
        } catch (IOException e) {
            arena.close();
            throw new UncheckedIOException("cannot read GGUF file " + path.toAbsolutePath() + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Parses GGUF bytes already in memory (tests, fuzzing, synthetic models). The segment is not
     * copied and must stay valid while this file is used; {@link #close()} does not free it. Pass a
     * native segment for speed (see {@link #read(byte[])}).
     */
    public static GgufFile read(MemorySegment bytes, String name) {
        return new GgufFile(name, null, null, bytes);
    }

    /**
     * Parses GGUF bytes held in a heap array. The bytes are copied off-heap first (memory the
     * garbage collector frees once the file is unreachable): the Vector API kernels are compiled to
     * SIMD loads only for native segments (loads from an array-backed segment box every vector), and
     * when one process mixes both kinds of segment the JIT's profile slows every kernel down.
     */
    public static GgufFile read(byte[] bytes) {
        MemorySegment copy = Arena.ofAuto().allocate(bytes.length, 64);
        MemorySegment.copy(bytes, 0, copy, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return read(copy.asReadOnly(), "<memory>");
    }

    /** The file name (or a label for in-memory data). */
    public String name() {
        return name;
    }

    public @Nullable Path path() {
        return path;
    }

    /** 2 or 3. */
    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    /** Tensor infos in file order. */
    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    public @Nullable GgufTensorInfo tensor(String tensorName) {
        return tensorsByName.get(tensorName);
    }

    public boolean hasTensor(String tensorName) {
        return tensorsByName.containsKey(tensorName);
    }

    public int alignment() {
        return alignment;
    }

    /** Absolute file offset of the data section. */
    public long dataOffset() {
        return dataOffset;
    }

    /** Total size of the file in bytes. */
    public long byteSize() {
        return segment.byteSize();
    }

    /** The whole mapped file, read-only. */
    public MemorySegment segment() {
        return segment;
    }

    /** A read-only slice holding one tensor's data (validated at open to lie inside the file). */
    public MemorySegment tensorData(GgufTensorInfo info) {
        return segment.asSlice(dataOffset + info.offset(), info.byteSize());
    }

    /** The data of the named tensor; fails naming the tensor when it is absent. */
    public MemorySegment tensorData(String tensorName) {
        GgufTensorInfo info = tensorsByName.get(tensorName);
        if (info == null) {
            throw new GgufFormatException(name + ": tensor '" + tensorName + "' is missing", -1);
        }
        return tensorData(info);
    }

    /** Unmaps the file (no-op for in-memory data). Idempotent. */
    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "GgufFile[" + name + ", v" + version + ", " + metadata.size() + " keys, " + tensors.size() + " tensors]";
    }
}
