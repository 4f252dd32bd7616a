package io.kvcache.cache.internal;

import io.kvcache.cache.KvElementType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Encodes and decodes one row (one head of one position) in a {@link KvElementType}. Stateless and
 * thread-safe. Unaligned layouts are used because a Q8_0 section (34 bytes per group) can shift the
 * following section off a 4-byte boundary; on x86 this costs nothing.
 */
public final class RowCodec {
    static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final int GROUP = KvElementType.Q8_0_GROUP;
    private static final int GROUP_BYTES = 34;

    private RowCodec() {
    }

    /** Writes {@code n} floats from {@code src[off..]} at {@code byteOffset} in {@code type}. */
    public static void encode(KvElementType type, float[] src, int off, int n, MemorySegment dst, long byteOffset) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, off, dst, FLOAT, byteOffset, n);
            case F16 -> {
                for (int i = 0; i < n; i++) {
                    dst.set(SHORT, byteOffset + 2L * i, Float.floatToFloat16(src[off + i]));
                }
            }
            case Q8_0 -> encodeQ8(src, off, n, dst, byteOffset);
        }
    }

    private static void encodeQ8(float[] src, int off, int n, MemorySegment dst, long byteOffset) {
        for (int g = 0; g < n / GROUP; g++) {
            int base = off + g * GROUP;
            float amax = 0f;
            for (int i = 0; i < GROUP; i++) {
                amax = Math.max(amax, Math.abs(src[base + i]));
            }
            short scaleBits = Float.floatToFloat16(amax / 127f);
            if (Float.float16ToFloat(scaleBits) * 127f < amax) {
                // Rounded down (notably in the F16 subnormal range): take the next F16 up so |x/d| <= 127
                // and no value is clamped; the error then stays within d/2.
                scaleBits++;
            }
            float scale = Float.float16ToFloat(scaleBits);
            if (Float.isInfinite(scale) || Float.isNaN(scale)) {
                throw new IllegalArgumentException("value " + amax + " cannot be stored as Q8_0 (its F16 scale"
                        + " overflows); store K/V as F32 or check the model for overflow");
            }
            long at = byteOffset + (long) g * GROUP_BYTES;
            dst.set(SHORT, at, scaleBits);
            // Quantize against the stored (rounded) scale: the error is then at most scale/2.
            for (int i = 0; i < GROUP; i++) {
                int q = scale == 0f ? 0 : Math.max(-127, Math.min(127, Math.round(src[base + i] / scale)));
                dst.set(ValueLayout.JAVA_BYTE, at + 2 + i, (byte) q);
            }
        }
    }

    /** Per-thread copy of the halves {@link #decodeF16} widens; grown on demand. */
    private static final ThreadLocal<short[]> HALVES = ThreadLocal.withInitial(() -> new short[0]);

    /**
     * {@code n} F16 values at {@code byteOffset} widened into {@code dst[off ..)}: one bulk copy into
     * a per-thread {@code short[]}, then a plain array loop that C2 turns into F16C conversions (8
     * halves per instruction; the longer the run, e.g. a whole block of rows, the better). Allocates
     * nothing (a long loop over the segment itself was as fast but made compiled code allocate per call).
     */
    public static void decodeF16(MemorySegment src, long byteOffset, int n, float[] dst, int off) {
        short[] halves = HALVES.get();
        if (halves.length < n) {
            halves = new short[n];
            HALVES.set(halves);
        }
        MemorySegment.copy(src, SHORT, byteOffset, halves, 0, n);
        for (int i = 0; i < n; i++) {
            dst[off + i] = Float.float16ToFloat(halves[i]);
        }
    }

    /** Reads {@code n} values at {@code byteOffset} in {@code type} into {@code dst[off..]}. */
    public static void decode(KvElementType type, MemorySegment src, long byteOffset, int n, float[] dst, int off) {
        switch (type) {
            case F32 -> MemorySegment.copy(src, FLOAT, byteOffset, dst, off, n);
            case F16 -> decodeF16(src, byteOffset, n, dst, off);
            case Q8_0 -> {
                for (int g = 0; g < n / GROUP; g++) {
                    long at = byteOffset + (long) g * GROUP_BYTES;
                    float scale = Float.float16ToFloat(src.get(SHORT, at));
                    int base = off + g * GROUP;
                    for (int i = 0; i < GROUP; i++) {
                        dst[base + i] = scale * src.get(ValueLayout.JAVA_BYTE, at + 2 + i);
                    }
                }
            }
        }
    }
}
