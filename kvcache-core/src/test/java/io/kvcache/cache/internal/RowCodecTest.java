package io.kvcache.cache.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.cache.KvElementType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class RowCodecTest {

    @Test
    void q8LayoutMatchesLlamaCpp() {
        float[] row = new float[32];
        for (int i = 0; i < 32; i++) {
            row[i] = i - 16; // amax 16
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(35);
            RowCodec.encode(KvElementType.Q8_0, row, 0, 32, segment, 1); // odd offset: unaligned is fine
            short scaleBits = segment.get(ValueLayout.JAVA_SHORT_UNALIGNED, 1);
            float d = Float.float16ToFloat(scaleBits);
            // The F16 scale d ~ amax/127 comes first, rounded so that 127*d >= amax (no clamping).
            assertTrue(127 * d >= 16f && d <= 16f / 127f * (1 + 0x1p-10), "scale " + d);
            int nearest = Float.floatToFloat16(16f / 127f);
            assertTrue(scaleBits == nearest || scaleBits == nearest + 1, "nearest F16 or the next one up");
            for (int i = 0; i < 32; i++) {
                assertEquals(Math.round(row[i] / d), segment.get(ValueLayout.JAVA_BYTE, 3 + i), "q[" + i + "]");
            }
            assertEquals(-127, segment.get(ValueLayout.JAVA_BYTE, 3), "the largest magnitude maps to -127");
            float[] back = new float[32];
            RowCodec.decode(KvElementType.Q8_0, segment, 1, 32, back, 0);
            for (int i = 0; i < 32; i++) {
                assertEquals(d * segment.get(ValueLayout.JAVA_BYTE, 3 + i), back[i]);
            }
        }
    }

    @Test
    void roundTripsWithinTheDocumentedBounds() {
        SplittableRandom random = new SplittableRandom(7);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(4 * 256);
            float[] row = new float[256];
            float[] back = new float[256];
            for (int trial = 0; trial < 500; trial++) {
                double magnitude = Math.pow(10, random.nextDouble(-4, 4));
                for (int i = 0; i < row.length; i++) {
                    row[i] = (float) (random.nextDouble(-1, 1) * magnitude);
                }
                if (trial % 7 == 0) {
                    java.util.Arrays.fill(row, 64, 96, 0f); // an all-zero group
                }
                for (KvElementType type : KvElementType.values()) {
                    RowCodec.encode(type, row, 0, row.length, segment, 0);
                    RowCodec.decode(type, segment, 0, row.length, back, 0);
                    for (int g = 0; g < row.length; g += 32) {
                        double amax = 0;
                        for (int i = g; i < g + 32; i++) {
                            amax = Math.max(amax, Math.abs(row[i]));
                        }
                        for (int i = g; i < g + 32; i++) {
                            double bound = switch (type) {
                                case F32 -> 0;
                                case F16 -> Math.max(Math.abs(row[i]) * 0x1p-11, 0x1p-25);
                                case Q8_0 -> amax / 254 * (1 + 0x1p-10) + 0x1p-25;
                            };
                            double error = Math.abs(row[i] - back[i]);
                            assertTrue(error <= bound, type + " trial " + trial + " element " + i + ": " + row[i]
                                    + " -> " + back[i] + " error " + error + " > " + bound);
                        }
                    }
                }
            }
        }
    }

    @Test
    void q8RejectsValuesWhoseScaleOverflows() {
        float[] row = new float[32];
        row[3] = 1e8f;
        try (Arena arena = Arena.ofConfined()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> RowCodec.encode(KvElementType.Q8_0, row, 0, 32, arena.allocate(34), 0));
            assertTrue(e.getMessage().contains("F32"), e.getMessage());
        }
    }
}
