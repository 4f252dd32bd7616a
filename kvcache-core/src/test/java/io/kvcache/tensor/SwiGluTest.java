package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvcache.tensor.internal.Expf;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** {@link Kernels#swiglu}: llama.cpp's SiLU (with its expf), the same bits in every lane and at the tail. */
class SwiGluTest {

    @Test
    void everyElementIsSiluOfTheGateTimesTheUpValue() {
        int n = 1000 + 3; // a tail past the last whole vector
        SplittableRandom rng = new SplittableRandom(5);
        float[] gate = new float[n];
        float[] up = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) (rng.nextGaussian() * 4);
            up[i] = (float) rng.nextGaussian();
        }
        // Lanes whose exp leaves the normal range (|x| > 126 ln 2) take the scalar path, whole vector.
        float[] extremes = {0f, -0f, 88f, -88f, 100f, -100f, 200f, -200f, 1e-30f, -1e-30f, 87.5f, -103f};
        System.arraycopy(extremes, 0, gate, 16, extremes.length);
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            expected[i] = gate[i] / (1f + Expf.exp(-gate[i])) * up[i];
            double exact = gate[i] / (1 + Math.exp(-(double) gate[i])) * up[i];
            assertEquals(exact, expected[i], 4e-7 * Math.abs(exact) + 1e-38, "silu(" + gate[i] + ") * " + up[i]);
        }
        Kernels.swiglu(gate, up, n);
        for (int i = 0; i < n; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(gate[i]), "element " + i);
        }
    }

    @Test
    void onlyTheFirstNElementsChange() {
        float[] gate = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        float[] up = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
        Kernels.swiglu(gate, up, 9);
        assertEquals(10f, gate[9]);
        assertEquals(1f / (1f + Expf.exp(-1f)), gate[0]);
        assertThrows(IndexOutOfBoundsException.class, () -> Kernels.swiglu(gate, new float[3], 4));
    }
}
