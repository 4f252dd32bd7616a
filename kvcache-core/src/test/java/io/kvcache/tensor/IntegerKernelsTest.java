package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.BlockMatrix;
import io.kvcache.tensor.internal.QuantizedActivations;
import io.kvcache.tensor.internal.VectorSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The integer Q8_0 and Q4_0 kernels (four rows per pass, adjacent for Q4_0 and a quarter of the
 * range apart for Q8_0, a single-row tail; Q4_0 through unsigned
 * nibbles plus the activation's bias) against a scalar reference that sums every block exactly in
 * integers. With power-of-two scales every float the kernels form is exact, so their results must
 * equal the integer reference bit for bit whatever the summation order; with arbitrary scales they
 * may differ only by float rounding across blocks. Weights include the extreme quants (Q8_0 -128
 * and 127, nibbles 0 and 15) so the 16-bit intermediate sums are tested at their bounds.
 */
class IntegerKernelsTest {

    @BeforeEach
    void needsTheVectorApi() {
        assumeTrue(VectorSupport.ENABLED, "the integer kernels need the Vector API");
    }

    /** Raw Q8_0 or Q4_0 blocks: quants at random, the extremes forced in block 0 of every row. */
    private static byte[] randomBlocks(GgmlType type, int rows, int cols, SplittableRandom rng, float[] scalePool) {
        int blockBytes = type == GgmlType.Q8_0 ? 34 : 18;
        int blocks = cols / 32;
        byte[] bytes = new byte[rows * blocks * blockBytes];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < blocks; b++) {
                int at = (r * blocks + b) * blockBytes;
                short d = Float.floatToFloat16(scalePool[rng.nextInt(scalePool.length)]);
                bytes[at] = (byte) d;
                bytes[at + 1] = (byte) (d >> 8);
                for (int j = 2; j < blockBytes; j++) {
                    bytes[at + j] = (byte) rng.nextInt(256);
                }
                if (b == 0) {
                    bytes[at + 2] = type == GgmlType.Q8_0 ? (byte) -128 : (byte) 0x00;
                    bytes[at + 3] = type == GgmlType.Q8_0 ? (byte) 127 : (byte) 0xFF;
                    bytes[at + 4] = type == GgmlType.Q8_0 ? (byte) -128 : (byte) 0x0F;
                }
            }
        }
        return bytes;
    }

    private static BlockMatrix offHeap(GgmlType type, byte[] bytes, int rows, int cols) {
        MemorySegment seg = Arena.ofAuto().allocate(bytes.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, seg, 0, bytes.length);
        return (BlockMatrix) WeightMatrix.of(type, seg, rows, cols);
    }

    /** Random blocks with scales that are not powers of two, off-heap. */
    private static BlockMatrix arbitraryScaleMatrix(GgmlType type, int rows, int cols, SplittableRandom rng) {
        byte[] bytes = randomBlocks(type, rows, cols, rng, new float[] {0.013f, 0.0071f, 0.021f, 0.0003f});
        return offHeap(type, bytes, rows, cols);
    }

    /** The weight quant of element {@code j} of block {@code b} of row {@code r}, signed. */
    private static int weightQuant(GgmlType type, byte[] bytes, int blocks, int r, int b, int j) {
        if (type == GgmlType.Q8_0) {
            return bytes[(r * blocks + b) * 34 + 2 + j];
        }
        int q = bytes[(r * blocks + b) * 18 + 2 + (j & 15)] & 0xFF;
        return (j < 16 ? q & 0x0F : q >>> 4) - 8;
    }

    private static float weightScale(GgmlType type, byte[] bytes, int blocks, int r, int b) {
        int at = (r * blocks + b) * (type == GgmlType.Q8_0 ? 34 : 18);
        return Float.float16ToFloat((short) ((bytes[at] & 0xFF) | bytes[at + 1] << 8));
    }

    /** The exact integer sum of block {@code b} of row {@code r} with the quantized activation. */
    private static long blockSum(GgmlType type, byte[] bytes, int blocks, int r, int b, short[] xq) {
        long s = 0;
        for (int j = 0; j < 32; j++) {
            s += (long) weightQuant(type, bytes, blocks, r, b, j) * xq[32 * b + j];
        }
        return s;
    }

    /** The sum of the absolute products of block {@code b} of row {@code r}: bounds every partial sum. */
    private static long blockAbsSum(GgmlType type, byte[] bytes, int blocks, int r, int b, short[] xq) {
        long s = 0;
        for (int j = 0; j < 32; j++) {
            s += Math.abs((long) weightQuant(type, bytes, blocks, r, b, j) * xq[32 * b + j]);
        }
        return s;
    }

    /**
     * An activation whose every block has {@code amax = 127 * 2^e}: its scale is exactly
     * {@code 2^e} and its quants are the integers chosen here (including +-127 and 0).
     */
    private static float[] powerOfTwoActivation(int cols, SplittableRandom rng) {
        float[] x = new float[cols];
        for (int b = 0; b < cols / 32; b++) {
            float d = Math.scalb(1f, rng.nextInt(-1, 2));
            for (int j = 0; j < 32; j++) {
                x[32 * b + j] = rng.nextInt(-127, 128) * d;
            }
            x[32 * b + rng.nextInt(31)] = (b & 1) == 0 ? 127 * d : -127 * d;
            x[32 * b + 31] = 0;
        }
        return x;
    }

    @ParameterizedTest(name = "{0} {1}x{2} rows [{3}, {3}+{4})")
    @CsvSource({
        "Q8_0, 1, 32, 0, 1",
        "Q8_0, 4, 64, 0, 4",
        "Q8_0, 9, 256, 0, 9",
        "Q8_0, 13, 160, 2, 11",
        "Q8_0, 11, 512, 3, 7",
        "Q8_0, 40, 96, 1, 38",
        "Q4_0, 1, 32, 0, 1",
        "Q4_0, 4, 64, 0, 4",
        "Q4_0, 9, 256, 0, 9",
        "Q4_0, 13, 160, 2, 11",
        "Q4_0, 11, 512, 3, 7",
        "Q4_0, 40, 96, 1, 38",
    })
    void powerOfTwoScalesGiveTheExactIntegerSums(GgmlType type, int rows, int cols, int first, int count) {
        SplittableRandom rng = new SplittableRandom(rows * 31L + cols + type.id());
        byte[] bytes = randomBlocks(type, rows, cols, rng, new float[] {0.5f, 1f, 2f});
        BlockMatrix m = offHeap(type, bytes, rows, cols);
        QuantizedActivations qa = new QuantizedActivations();
        qa.quantize(powerOfTwoActivation(cols, rng), 0, cols);
        int blocks = cols / 32;
        float[] out = new float[count + 2];
        m.dotRowsQuantized(first, count, qa, out, 1);
        assertEquals(0f, out[0]);
        assertEquals(0f, out[count + 1]);
        for (int i = 0; i < count; i++) {
            int r = first + i;
            double exact = 0;
            double magnitude = 0;
            for (int b = 0; b < blocks; b++) {
                double scale = (double) weightScale(type, bytes, blocks, r, b) * qa.scales()[b];
                exact += blockSum(type, bytes, blocks, r, b, qa.quants()) * scale;
                magnitude += blockAbsSum(type, bytes, blocks, r, b, qa.quants()) * scale;
            }
            // Every partial sum is a multiple of 2^-2 below 2^22, so float arithmetic is exact.
            assertTrue(magnitude < 0x1p22, "test data too large to be exact in floats: " + magnitude);
            assertEquals((float) exact, out[1 + i], 0f, type + " row " + r);
        }
    }

    @ParameterizedTest(name = "{0} {1}x{2}")
    @CsvSource({"Q8_0, 23, 2048", "Q4_0, 23, 2048", "Q8_0, 6, 96", "Q4_0, 7, 4096"})
    void arbitraryScalesDifferFromTheIntegerReferenceOnlyByFloatRounding(GgmlType type, int rows, int cols) {
        SplittableRandom rng = new SplittableRandom(cols + type.id());
        float[] scales = new float[64];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = (float) rng.nextDouble(1e-4, 0.05);
        }
        byte[] bytes = randomBlocks(type, rows, cols, rng, scales);
        BlockMatrix m = offHeap(type, bytes, rows, cols);
        QuantizedActivations qa = gaussianActivation(cols, rng);
        int blocks = cols / 32;
        float[] out = new float[rows];
        m.dotRowsQuantized(0, rows, qa, out, 0);
        for (int r = 0; r < rows; r++) {
            double exact = 0;
            double magnitude = 0;
            for (int b = 0; b < blocks; b++) {
                // What the kernels multiply: the exact block sum times the float product d_w * d_x.
                double scale = weightScale(type, bytes, blocks, r, b) * qa.scales()[b];
                exact += blockSum(type, bytes, blocks, r, b, qa.quants()) * scale;
                magnitude += blockAbsSum(type, bytes, blocks, r, b, qa.quants()) * scale;
            }
            assertEquals(exact, out[r], 0x1p-22 * blocks * magnitude, type + " row " + r);
        }
    }

    @ParameterizedTest
    @CsvSource({"Q8_0", "Q4_0"})
    void aRowsResultDoesNotDependOnHowTheRowsAreSplit(GgmlType type) {
        int rows = 19;
        int cols = 1024;
        SplittableRandom rng = new SplittableRandom(5 + type.id());
        BlockMatrix m = arbitraryScaleMatrix(type, rows, cols, rng);
        QuantizedActivations qa = gaussianActivation(cols, rng);
        float[] all = new float[rows];
        m.dotRowsQuantized(0, rows, qa, all, 0);
        // Every split: one row at a time (single-row kernel), and runs starting at each offset
        // (four-row passes with tails of 0..3 rows at different places).
        float[] one = new float[1];
        for (int r = 0; r < rows; r++) {
            m.dotRowsQuantized(r, 1, qa, one, 0);
            assertEquals(Float.floatToRawIntBits(all[r]), Float.floatToRawIntBits(one[0]), "row " + r + " alone");
        }
        for (int first = 1; first < 5; first++) {
            float[] part = new float[rows - first];
            m.dotRowsQuantized(first, rows - first, qa, part, 0);
            for (int r = first; r < rows; r++) {
                assertEquals(Float.floatToRawIntBits(all[r]), Float.floatToRawIntBits(part[r - first]),
                        "row " + r + " in a run from " + first);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"Q8_0", "Q4_0"})
    void twoActivationsAtOnceGiveTheBitsOfOneAtATime(GgmlType type) {
        int rows = 21;
        int cols = 160;
        SplittableRandom rng = new SplittableRandom(17 + type.id());
        BlockMatrix m = arbitraryScaleMatrix(type, rows, cols, rng);
        QuantizedActivations a = gaussianActivation(cols, rng);
        QuantizedActivations b = gaussianActivation(cols, rng);
        for (int first = 0; first < 4; first++) {
            // odd and even counts: the pair kernel takes rows two at a time, half the range apart
            for (int count : new int[] {1, 2, 3, 8, rows - first}) {
                float[] aAlone = new float[count];
                float[] bAlone = new float[count];
                m.dotRowsQuantized(first, count, a, aAlone, 0);
                m.dotRowsQuantized(first, count, b, bAlone, 0);
                float[] both = new float[2 * count + 3];
                m.dotRowsQuantized(first, count, a, both, 1, b, both, count + 2);
                String run = " in rows [" + first + ", " + (first + count) + ")";
                for (int r = 0; r < count; r++) {
                    assertEquals(Float.floatToRawIntBits(aAlone[r]), Float.floatToRawIntBits(both[1 + r]),
                            "activation a, row " + (first + r) + run);
                    assertEquals(Float.floatToRawIntBits(bAlone[r]), Float.floatToRawIntBits(both[count + 2 + r]),
                            "activation b, row " + (first + r) + run);
                }
                assertEquals(0f, both[0]);
                assertEquals(0f, both[count + 1]);
                assertEquals(0f, both[2 * count + 2]);
            }
        }
        float[] out = new float[rows];
        assertThrows(IndexOutOfBoundsException.class, () -> m.dotRowsQuantized(1, rows, a, out, 0, b, out, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> m.dotRowsQuantized(0, rows, a, out, 0, b, out, 1));
    }

    @Test
    void theQ4_0TermsGiveSixteenTimesTheProductsOfTheSignedNibbles() {
        int n = 32 * 9;
        SplittableRandom rng = new SplittableRandom(3);
        float[] x = new float[n + 1];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextDouble(-4, 4);
        }
        QuantizedActivations qa = new QuantizedActivations();
        qa.quantize(new float[2 * n], 0, 2 * n);
        qa.quantize(x, 1, n);
        short[] q = qa.quants();
        short[] terms = qa.q4_0Terms();
        assertTrue(terms.length >= n / 32 * QuantizedActivations.Q4_0_TERMS);
        for (int b = 0; b < n / 32; b++) {
            for (int k = 0; k < 16; k += 2) {
                int lo0 = q[32 * b + k];
                int hi0 = q[32 * b + 16 + k];
                int lo1 = q[32 * b + k + 1];
                int hi1 = q[32 * b + 17 + k];
                String where = "block " + b + " lanes " + k + ", " + (k + 1);
                assertEquals((short) (16 * lo0), terms[48 * b + k], "low factor, " + where);
                assertEquals((short) (hi0 - 16 * lo0), terms[48 * b + 16 + k], "high factor, " + where);
                assertEquals((short) (-128 * (lo0 + hi0) + 0x8000), terms[48 * b + 32 + k], "even offset, " + where);
                assertEquals((short) (-128 * (lo1 + hi1)), terms[48 * b + 33 + k], "odd offset, " + where);
                // What the kernel relies on, for every pair of bytes: the 32-bit lane made of the two
                // 16-bit sums gives 16 times the products of the signed nibbles of both bytes.
                for (int byte0 = 0; byte0 < 256; byte0 += 7) {
                    for (int byte1 = 0; byte1 < 256; byte1++) {
                        short even = (short) (byte0 * terms[48 * b + k] + (byte0 & 0xF0) * terms[48 * b + 16 + k]
                                + terms[48 * b + 32 + k]);
                        short odd = (short) (byte1 * terms[48 * b + k + 1] + (byte1 & 0xF0) * terms[48 * b + 17 + k]
                                + terms[48 * b + 33 + k]);
                        int lane = (odd << 16) | (even & 0xFFFF);
                        int kernel = (lane & 0xFFFF) + (lane >> 16) - 0x8000;
                        int expected = ((byte0 & 0xF) - 8) * lo0 + ((byte0 >>> 4) - 8) * hi0
                                + ((byte1 & 0xF) - 8) * lo1 + ((byte1 >>> 4) - 8) * hi1;
                        assertEquals(16 * expected, kernel, where + " bytes " + byte0 + ", " + byte1);
                    }
                }
            }
        }
    }

    /** A Gaussian activation of {@code cols} values, quantized. */
    private static QuantizedActivations gaussianActivation(int cols, SplittableRandom rng) {
        float[] x = new float[cols];
        for (int i = 0; i < cols; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        QuantizedActivations qa = new QuantizedActivations();
        qa.quantize(x, 0, cols);
        return qa;
    }
}
