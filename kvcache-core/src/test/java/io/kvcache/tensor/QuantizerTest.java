package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufTensorInfo;
import io.kvcache.testing.SharedModels;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class QuantizerTest {

    private static float[] gaussian(int n, long seed, double scale) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextGaussian() * scale);
        }
        return v;
    }

    private static float[] decode(GgmlType type, byte[] bytes, int n) {
        WeightMatrix m = WeightMatrix.of(type, MemorySegment.ofArray(bytes), 1, n);
        float[] out = new float[n];
        m.dequantizeRow(0, out, 0);
        return out;
    }

    @Test
    void q8_0RoundTripErrorIsAtMostHalfAStepPerBlock() {
        float[] v = gaussian(32 * 200, 1, 0.05);
        v[5] = 0;
        for (int j = 32; j < 64; j++) {
            v[j] = 0; // an all-zero block encodes d = 0
        }
        float[] back = decode(GgmlType.Q8_0, Quantizer.quantize(GgmlType.Q8_0, v), v.length);
        for (int b = 0; b < 200; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) {
                amax = Math.max(amax, Math.abs(v[32 * b + j]));
            }
            for (int j = 0; j < 32; j++) {
                int i = 32 * b + j;
                // half a step of amax/127 plus the F16 rounding of d (127 * d * 2^-11)
                assertEquals(v[i], back[i], amax / 254 * 1.01 + amax * 0x1p-11, "element " + i);
            }
        }
        assertEquals(0f, back[40]);
    }

    @Test
    void q4RoundTripErrorIsAboutHalfAStep() {
        float[] v = gaussian(32 * 200, 2, 0.05);
        float[] back0 = decode(GgmlType.Q4_0, Quantizer.quantize(GgmlType.Q4_0, v), v.length);
        float[] back1 = decode(GgmlType.Q4_1, Quantizer.quantize(GgmlType.Q4_1, v), v.length);
        for (int b = 0; b < 200; b++) {
            float amax = 0;
            float min = Float.MAX_VALUE;
            float max = -Float.MAX_VALUE;
            for (int j = 0; j < 32; j++) {
                float x = v[32 * b + j];
                amax = Math.max(amax, Math.abs(x));
                min = Math.min(min, x);
                max = Math.max(max, x);
            }
            for (int j = 0; j < 32; j++) {
                int i = 32 * b + j;
                // Q4_0: step amax/8, and the far side of zero clamps at 7 steps (error up to one step)
                assertEquals(v[i], back0[i], amax / 8 * 1.01, "Q4_0 element " + i);
                assertEquals(v[i], back1[i], (max - min) / 30 * 1.01 + amax * 0x1p-10, "Q4_1 element " + i);
            }
        }
    }

    @Test
    void knownBlocksEncodeLikeLlamaCpp() {
        // Values chosen so every rounding rule matters: amax = 127 gives d = 1 exactly, so
        // q = roundf(x): halves go away from zero (Math.round would send -2.5 to -2).
        float[] v = new float[32];
        v[0] = 127f;
        v[1] = -2.5f;
        v[2] = 2.5f;
        v[3] = -0.5f;
        v[4] = 0.49999997f;
        v[5] = -127f;
        byte[] q8 = Quantizer.quantize(GgmlType.Q8_0, v);
        assertEquals(0x00, q8[0] & 0xFF); // f16(1.0) = 0x3C00
        assertEquals(0x3C, q8[1] & 0xFF);
        assertArrayEquals(new byte[] {127, -3, 3, -1, 0, -127, 0}, java.util.Arrays.copyOfRange(q8, 2, 9));
        // Q4_0: max is the signed value of largest magnitude; d = max / -8.
        float[] w = new float[32];
        w[0] = -8f; // d = 1, id = 1: q = (int) (x + 8.5), clamped to 15
        w[1] = 7.4f;
        w[2] = 7.6f; // 16.1 -> clamps to 15
        w[16] = -0.5f; // 8.0 -> 8
        w[17] = -0.6f; // 7.9 -> 7
        byte[] q4 = Quantizer.quantize(GgmlType.Q4_0, w);
        assertEquals(Float.floatToFloat16(1f), (short) ((q4[0] & 0xFF) | (q4[1] << 8)));
        assertEquals(0 | (8 << 4), q4[2] & 0xFF);
        assertEquals(15 | (7 << 4), q4[3] & 0xFF);
        assertEquals(15 | (8 << 4), q4[4] & 0xFF);
    }

    @Test
    void halfAndBrainFloatRoundToNearestEven() {
        float[] v = {1f, 1f + 0x1p-11f, 1f + 0x3p-11f, 65520f, 1e-8f, Float.NaN, -0f, 1f + 0x1p-8f, 1f + 0x3p-8f};
        byte[] h = Quantizer.quantize(GgmlType.F16, v);
        float[] back = decode(GgmlType.F16, h, v.length);
        assertEquals(1f, back[1]); // tie to even (down)
        assertEquals(1f + 0x1p-9f, back[2]); // tie to even (up)
        assertEquals(Float.POSITIVE_INFINITY, back[3]);
        assertEquals(0f, back[4]);
        assertTrue(Float.isNaN(back[5]));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(back[6]));
        byte[] bf = Quantizer.quantize(GgmlType.BF16, v);
        float[] bback = decode(GgmlType.BF16, bf, v.length);
        assertEquals(1f, bback[7]); // 1 + 2^-8 is halfway between bf16 neighbours: ties to even
        assertEquals(1f + 0x1p-6f, bback[8]);
        assertTrue(Float.isNaN(bback[5]));
        byte[] f = Quantizer.quantize(GgmlType.F32, v);
        assertArrayEquals(v, decode(GgmlType.F32, f, v.length));
    }

    @Test
    void rejectsUnsupportedTypesAndPartialBlocks() {
        UnsupportedTensorTypeException e = assertThrows(UnsupportedTensorTypeException.class,
                () -> Quantizer.quantize(GgmlType.Q4_K, new float[256]));
        assertTrue(e.getMessage().contains("Q8_0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Quantizer.quantize(GgmlType.Q8_0, new float[33]));
        assertThrows(UnsupportedTensorTypeException.class,
                () -> Quantizer.randomBlocks(GgmlType.Q2_K, 1, new SplittableRandom(1)));
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q4_K", "Q5_K", "Q6_K"})
    void randomBlocksAreFiniteSmallAndVaried(GgmlType type) {
        int blocks = 64;
        byte[] bytes = Quantizer.randomBlocks(type, blocks, new SplittableRandom(type.id()));
        assertEquals(blocks * type.bytesPerBlock(), bytes.length);
        int n = blocks * type.blockSize();
        float[] v = decode(type, bytes, n);
        double sumSq = 0;
        java.util.Set<Float> distinct = new java.util.HashSet<>();
        for (float x : v) {
            assertTrue(Float.isFinite(x) && Math.abs(x) <= 0.15f, type + " element " + x);
            sumSq += x * x;
            distinct.add(x);
        }
        double rms = Math.sqrt(sumSq / n);
        assertTrue(rms > 0.005 && rms < 0.1, type + " rms " + rms);
        assertTrue(distinct.size() > n / 20, type + " only " + distinct.size() + " distinct values");
    }

    /**
     * The F16 and Q8_0 TinyStories files hold the same weights. llama.cpp quantized the Q8_0 file
     * from F32 originals; requantizing the F16 values reproduces its bytes except where the F16
     * rounding moved a value across a rounding boundary.
     */
    @Test
    void requantizingTheF16ModelReproducesTheQ8_0ModelsBytes() {
        try (GgufFile f16 = GgufFile.open(SharedModels.model("TinyStories-656K-F16.gguf"));
                GgufFile q8 = GgufFile.open(SharedModels.model("TinyStories-656K-Q8_0.gguf"))) {
            long blocks = 0;
            long identicalBlocks = 0;
            long quants = 0;
            long quantsOffByOne = 0;
            long scalesDiffer = 0;
            for (GgufTensorInfo t : q8.tensors()) {
                if (t.type() != GgmlType.Q8_0) {
                    continue;
                }
                GgufTensorInfo h = f16.tensor(t.name());
                assertEquals(GgmlType.F16, h.type(), t.name());
                WeightMatrix half = WeightMatrix.of(f16, h);
                float[] values = new float[half.rows() * half.cols()];
                for (int r = 0; r < half.rows(); r++) {
                    half.dequantizeRow(r, values, r * half.cols());
                }
                byte[] ours = Quantizer.quantize(GgmlType.Q8_0, values);
                byte[] theirs = q8.tensorData(t).toArray(ValueLayout.JAVA_BYTE);
                assertEquals(theirs.length, ours.length, t.name());
                for (int b = 0; b < ours.length / 34; b++) {
                    blocks++;
                    boolean same = java.util.Arrays.equals(ours, 34 * b, 34 * b + 34, theirs, 34 * b, 34 * b + 34);
                    if (same) {
                        identicalBlocks++;
                    }
                    if (ours[34 * b] != theirs[34 * b] || ours[34 * b + 1] != theirs[34 * b + 1]) {
                        scalesDiffer++;
                    }
                    for (int j = 2; j < 34; j++) {
                        quants++;
                        int diff = Math.abs(ours[34 * b + j] - theirs[34 * b + j]);
                        assertTrue(diff <= 1, t.name() + " block " + b + " quant " + j + " differs by " + diff);
                        if (diff == 1) {
                            quantsOffByOne++;
                        }
                    }
                }
            }
            System.out.printf("Q8_0 requantization of the F16 model: %d/%d blocks identical (%.2f%%), "
                    + "%d/%d quants off by one, %d scales differ%n", identicalBlocks, blocks,
                    100.0 * identicalBlocks / blocks, quantsOffByOne, quants, scalesDiffer);
            // Observed: every block identical (the Q8_0 file was evidently quantized from these
            // F16 values, not from F32 originals), so hold the encoder to exact equality.
            assertEquals(blocks, identicalBlocks, "blocks identical to llama.cpp's encoding");
            assertEquals(0, quantsOffByOne);
        }
    }

    @Test
    void q8_0AndF16ModelsHoldTheSameEmbeddings() {
        try (GgufFile f16 = GgufFile.open(SharedModels.model("TinyStories-656K-F16.gguf"));
                GgufFile q8 = GgufFile.open(SharedModels.model("TinyStories-656K-Q8_0.gguf"))) {
            WeightMatrix a = WeightMatrix.of(f16, f16.tensor("token_embd.weight"));
            WeightMatrix b = WeightMatrix.of(q8, q8.tensor("token_embd.weight"));
            assertEquals(GgmlType.F16, a.type());
            assertEquals(GgmlType.Q8_0, b.type());
            assertEquals(128, a.cols());
            assertEquals(2048, a.rows());
            assertEquals(a.rows(), b.rows());
            float[] ra = new float[128];
            float[] rb = new float[128];
            for (int row : new int[] {0, 1, 2, 1000, 2047}) {
                a.dequantizeRow(row, ra, 0);
                b.dequantizeRow(row, rb, 0);
                for (int blk = 0; blk < 4; blk++) {
                    float amax = 0;
                    for (int j = 0; j < 32; j++) {
                        amax = Math.max(amax, Math.abs(ra[32 * blk + j]));
                    }
                    for (int j = 0; j < 32; j++) {
                        int i = 32 * blk + j;
                        assertEquals(ra[i], rb[i], amax / 127 * 0.6f + Math.abs(ra[i]) * 0x1p-10f, "row " + row + " col " + i);
                    }
                }
            }
            // Known values of row 0. F16 file: bytes 78 b9 a0 a6 .. = halves 0xb978, 0xa6a0, ...
            // Q8_0 file: d = f16 0x1fc8, quants a6 fd 4e ea = -90, -3, 78, -22.
            a.dequantizeRow(0, ra, 0);
            b.dequantizeRow(0, rb, 0);
            assertArrayEquals(new float[] {-0x1.5ep-1f, -0x1.a8p-6f, 0x1.2ep-1f, -0x1.5ap-3f}, java.util.Arrays.copyOf(ra, 4));
            float d = Float.float16ToFloat((short) 0x1fc8);
            assertArrayEquals(new float[] {-90 * d, -3 * d, 78 * d, -22 * d}, java.util.Arrays.copyOf(rb, 4));
            assertArrayEquals(new float[] {-0x1.5e28p-1f, -0x1.758p-6f, 0x1.2f78p-1f, -0x1.566p-3f}, java.util.Arrays.copyOf(rb, 4));
        }
    }
}
