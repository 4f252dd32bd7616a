package io.kvcache.tensor.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Little-endian unaligned accessors: GGUF data is little-endian and tensors need not be aligned.
 * Stateless, thread-safe.
 */
public final class Le {
    public static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Le() {
    }

    /** The IEEE half at {@code offset}, widened exactly. */
    public static float f16(MemorySegment seg, long offset) {
        return Float.float16ToFloat(seg.get(SHORT, offset));
    }

    public static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static int i32(MemorySegment seg, long offset) {
        return seg.get(INT, offset);
    }

    public static int u8(MemorySegment seg, long offset) {
        return Byte.toUnsignedInt(seg.get(ValueLayout.JAVA_BYTE, offset));
    }

    public static byte s8(MemorySegment seg, long offset) {
        return seg.get(ValueLayout.JAVA_BYTE, offset);
    }
}
