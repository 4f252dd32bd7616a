package io.kvcache.gguf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.RandomAccessFile;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Tensor data beyond 2 GiB is mapped and read (a sparse file, so the test costs no disk). */
class GgufLargeFileTest {
    private static final long FAR = (1L << 31) + (1L << 20);

    @Test
    void readsATensorPastTwoGigabytes(@TempDir Path dir) throws Exception {
        float[] values = {1.5f, -2.25f, 3.125f, 42f};
        byte[] header = new GgufWriter().putString("general.architecture", "test")
                .addTensor("far", GgmlType.F32, new long[] {4}, new byte[16]).toByteArray();
        GgufFile small = GgufFile.read(header);
        long dataOffset = small.dataOffset();
        // Point the one tensor's offset far into the file: the field follows name, rank, dims and type.
        byte[] name = "far".getBytes(StandardCharsets.UTF_8);
        int nameAt = indexOf(header, name);
        int offsetField = nameAt + name.length + 4 + 8 + 4;
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putLong(offsetField, FAR);

        Path file = dir.resolve("big.gguf");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(header, 0, (int) dataOffset);
            raf.setLength(dataOffset + FAR + 16);
            ByteBuffer data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            for (float v : values) {
                data.putFloat(v);
            }
            raf.seek(dataOffset + FAR);
            raf.write(data.array());
        }
        try (GgufFile big = GgufFile.open(file)) {
            GgufTensorInfo far = big.tensor("far");
            assertEquals(FAR, far.offset());
            float[] read = new float[4];
            java.lang.foreign.MemorySegment.copy(big.tensorData(far),
                    ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0, read, 0, 4);
            assertEquals(java.util.Arrays.toString(values), java.util.Arrays.toString(read));
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            if (i >= 8 && haystack[i - 8] == needle.length) {
                return i;
            }
        }
        throw new AssertionError("tensor name not found");
    }
}
