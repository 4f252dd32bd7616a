package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.BlockMatrix;
import io.kvcache.tensor.internal.QuantizedActivations;
import io.kvcache.tensor.internal.VectorSupport;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The integer matrix-vector kernels of Q8_0 and Q4_0 against an activation quantized to Q8_0
 * (llama.cpp's scheme): the quantization is bit-exact with an independent transcription of
 * llama.cpp's AVX2 {@code quantize_row_q8_0}, and the products equal, up to float rounding, the
 * exact product of the dequantized weights with the dequantized activation.
 */
class QuantizedActivationsTest {

    @BeforeEach
    void needsTheVectorApi() {
        assumeTrue(VectorSupport.ENABLED, "the integer kernels need the Vector API");
    }

    private static float[] randomVector(int n, long seed, double scale) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextDouble(-1, 1) * scale);
        }
        return x;
    }

    @Test
    void quantizationIsBitExactWithLlamaCpp() {
        int n = 32 * 40;
        float[] x = randomVector(n + 5, 1, 3);
        // Edge blocks: all zero; amax 127 (scale 1) with every other value a tie at .5; one huge
        // value; a scale that underflows half precision.
        for (int j = 0; j < 32; j++) {
            x[5 + j] = 0;
            x[5 + 32 + j] = j - 16.5f;
            x[5 + 96 + j] = 1e-36f * (j - 16);
        }
        x[5 + 63] = 127;
        x[5 + 64] = 1e30f;
        QuantizedActivations qa = new QuantizedActivations();
        qa.quantize(x, 5, n);
        short[] q = new short[n];
        float[] d = new float[n / 32];
        ReferenceDequant.q8_0Activation(x, 5, n, q, d);
        assertEquals(n, qa.length());
        for (int i = 0; i < n; i++) {
            assertEquals(q[i], qa.quants()[i], "quant " + i);
        }
        for (int b = 0; b < n / 32; b++) {
            assertEquals(Float.floatToRawIntBits(d[b]), Float.floatToRawIntBits(qa.scales()[b]), "scale " + b);
        }
        assertEquals(0f, qa.scales()[0]);
        assertThrows(IllegalArgumentException.class, () -> qa.quantize(x, 0, 33));
        // Without the Q4_0 terms (Q8_0 weights), reading them is an error, not stale data.
        qa.quantize(x, 5, n, false);
        assertThrows(IllegalStateException.class, qa::q4_0Terms);
        qa.quantize(x, 5, n);
        assertThrows(IndexOutOfBoundsException.class, () -> qa.quantize(x, 6, n));

        // The round trip (what batched products multiply) is d * q of the same quantization, bit for bit.
        float[] rounded = new float[n + 3];
        QuantizedActivations.roundTrip(x, 5, n, rounded, 3);
        for (int i = 0; i < n; i++) {
            float expected = q[i] * d[i / 32];
            assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(rounded[3 + i]), "rounded " + i);
        }
        float[] inPlace = x.clone();
        QuantizedActivations.roundTrip(inPlace, 5, n, inPlace, 5);
        for (int i = 0; i < n; i++) {
            assertEquals(rounded[3 + i], inPlace[5 + i], "in place " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> QuantizedActivations.roundTrip(x, 0, 31, rounded, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> QuantizedActivations.roundTrip(x, 0, n, rounded, 4));
    }

    @ParameterizedTest(name = "{0} {1}x{2} rows [{3}, {3}+{4})")
    @CsvSource({
        "Q8_0, 7, 32, 0, 7",
        "Q8_0, 67, 256, 3, 61",
        "Q8_0, 5, 4096, 1, 3",
        "Q4_0, 9, 64, 0, 9",
        "Q4_0, 67, 512, 5, 13",
        "Q4_0, 3, 4096, 2, 1",
    })
    void productsEqualTheDequantizedWeightsTimesTheDequantizedActivation(GgmlType type, int rows, int cols,
            int first, int count) {
        byte[][] bytes = new byte[1][];
        BlockMatrix m = (BlockMatrix) WeightMatrixTest.randomMatrix(type, rows, cols, rows * 7L + cols, bytes);
        assertTrue(m.quantizesActivations());
        float[] w = ReferenceDequant.dequantize(type, bytes[0], rows * cols);
        float[] x = randomVector(cols, cols, 2);
        short[] q = new short[cols];
        float[] d = new float[cols / 32];
        ReferenceDequant.q8_0Activation(x, 0, cols, q, d);
        QuantizedActivations qa = new QuantizedActivations();
        qa.quantize(x, 0, cols);
        float[] out = new float[count + 2];
        m.dotRowsQuantized(first, count, qa, out, 1);
        assertEquals(0f, out[0]);
        assertEquals(0f, out[count + 1]);
        for (int i = 0; i < count; i++) {
            int r = first + i;
            double exact = 0;
            double magnitude = 0;
            double quantizationBound = 0;
            for (int c = 0; c < cols; c++) {
                double wx = (double) w[r * cols + c] * q[c] * d[c / 32];
                exact += wx;
                magnitude += Math.abs(wx);
                // |x - q d| <= d / 2 (+ the f16 rounding of d, at most 2^-11 relative)
                quantizationBound += Math.abs((double) w[r * cols + c]) * (d[c / 32] / 2 + Math.abs(x[c]) * 0x1p-10);
            }
            assertEquals(exact, out[1 + i], 1e-5 * magnitude + 1e-30, type + " row " + r);
            assertEquals(m.dot(r, x, 0), out[1 + i], quantizationBound + 1e-5 * magnitude + 1e-30,
                    type + " row " + r + " against the float kernel");
        }
    }

    @Test
    void matvecUsesTheIntegerKernelsWhenSwitchedOnOnEveryPoolSize() {
        byte[][] bytes = new byte[1][];
        BlockMatrix m = (BlockMatrix) WeightMatrixTest.randomMatrix(GgmlType.Q4_0, 203, 256, 11, bytes);
        float[] x = randomVector(256 + 3, 4, 1);
        QuantizedActivations qa = new QuantizedActivations();
        qa.quantize(x, 3, 256);
        float[] expected = new float[203];
        m.dotRowsQuantized(0, 203, qa, expected, 0);
        boolean before = Kernels.quantizeActivations;
        Kernels.quantizeActivations = true;
        try {
            for (int threads : new int[] {1, 2, 3}) {
                try (ComputePool pool = ComputePool.create(threads)) {
                    float[] out = new float[203];
                    Kernels.matvec(m, x, 3, out, 0, pool);
                    for (int r = 0; r < 203; r++) {
                        assertEquals(expected[r], out[r], 0f, threads + " threads, row " + r);
                    }
                }
            }
        } finally {
            Kernels.quantizeActivations = before;
        }
    }

    @Test
    void rejectsTypesWithoutTheKernelAndMismatchedActivations() {
        byte[][] bytes = new byte[1][];
        BlockMatrix f32 = (BlockMatrix) WeightMatrixTest.randomMatrix(GgmlType.F32, 2, 64, 1, bytes);
        assertFalse(f32.quantizesActivations());
        QuantizedActivations qa = new QuantizedActivations();
        qa.quantize(new float[64], 0, 64);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> f32.dotRowsQuantized(0, 2, qa, new float[2], 0));
        assertTrue(e.getMessage().contains("dotRows"), e.getMessage());
        BlockMatrix q8 = (BlockMatrix) WeightMatrixTest.randomMatrix(GgmlType.Q8_0, 2, 96, 1, bytes);
        assertThrows(IndexOutOfBoundsException.class, () -> q8.dotRowsQuantized(0, 2, qa, new float[2], 0));
        qa.quantize(new float[96], 0, 96);
        assertThrows(IndexOutOfBoundsException.class, () -> q8.dotRowsQuantized(1, 2, qa, new float[2], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> q8.dotRowsQuantized(0, 2, qa, new float[1], 0));
    }
}
