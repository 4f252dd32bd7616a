package io.kvcache.tensor.internal;

import java.lang.foreign.MemorySegment;

/**
 * The 12-byte packed scales of Q4_K and Q5_K: eight 6-bit scales and eight 6-bit mins
 * (llama.cpp's {@code get_scale_min_k4}). Sub-blocks 0..3 keep theirs in the low 6 bits of
 * bytes 0..3 (scales) and 4..7 (mins); sub-blocks 4..7 combine a nibble of bytes 8..11 with the
 * top two bits of bytes 0..7. Stateless, thread-safe.
 */
public final class KScales {
    private KScales() {
    }

    /** Scale of sub-block {@code j} (0..7), 0..63. */
    public static int scale(MemorySegment seg, long scales, int j) {
        if (j < 4) {
            return Le.u8(seg, scales + j) & 63;
        }
        return (Le.u8(seg, scales + j + 4) & 0xF) | ((Le.u8(seg, scales + j - 4) >>> 6) << 4);
    }

    /** Min of sub-block {@code j} (0..7), 0..63. */
    public static int min(MemorySegment seg, long scales, int j) {
        if (j < 4) {
            return Le.u8(seg, scales + j + 4) & 63;
        }
        return (Le.u8(seg, scales + j + 4) >>> 4) | ((Le.u8(seg, scales + j) >>> 6) << 4);
    }
}
