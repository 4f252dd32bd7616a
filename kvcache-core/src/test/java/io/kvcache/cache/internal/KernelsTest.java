package io.kvcache.cache.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vector kernels (selected when the incubator module is present, as in the default test JVM) agree
 * with the scalar ones; run with {@code -Dkvcache.jvm.flags=--enable-native-access=ALL-UNNAMED} to test
 * the whole module on the scalar fallback.
 */
class KernelsTest {

    @Test
    void q8KernelsMatchDecodeThenMultiply() {
        SplittableRandom random = new SplittableRandom(5);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(34L * 8 + 1);
            for (int n : new int[] {32, 64, 128, 256}) {
                float[] values = new float[n];
                float[] a = new float[n + 2];
                for (int i = 0; i < n; i++) {
                    values[i] = (float) random.nextDouble(-3, 3);
                }
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) random.nextDouble(-1, 1);
                }
                RowCodec.encode(io.kvcache.cache.KvElementType.Q8_0, values, 0, n, segment, 1);
                float[] decoded = new float[n];
                RowCodec.decode(io.kvcache.cache.KvElementType.Q8_0, segment, 1, n, decoded, 0);
                double exact = 0;
                for (int i = 0; i < n; i++) {
                    exact += (double) a[2 + i] * decoded[i];
                }
                for (Kernels kernels : new Kernels[] {Kernels.best(), Kernels.scalar()}) {
                    assertEquals(exact, kernels.dotQ8(a, 2, segment, 1, n), 1e-4 * n, kernels + " dotQ8 n=" + n);
                    float[] y = a.clone();
                    kernels.axpyQ8(-0.5f, segment, 1, y, 2, n);
                    for (int i = 0; i < a.length; i++) {
                        float expected = i < 2 ? a[i] : a[i] - 0.5f * decoded[i - 2];
                        assertEquals(expected, y[i], 1e-5f, kernels + " axpyQ8 n=" + n + " i=" + i);
                    }
                }
            }
        }
    }

    @Test
    void vectorAndScalarKernelsAgree() {
        Kernels best = Kernels.best();
        Kernels scalar = Kernels.scalar();
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            assertNotSame(scalar, best, "with jdk.incubator.vector present the vector kernels must be selected");
        } else {
            assertSame(scalar, best, "without jdk.incubator.vector the scalar kernels are the fallback");
        }
        SplittableRandom random = new SplittableRandom(3);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(4L * 300 + 2);
            for (int n : new int[] {1, 7, 15, 16, 17, 32, 64, 100, 128, 129, 256}) {
                float[] a = new float[n + 3];
                float[] b = new float[n + 5];
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) random.nextDouble(-1, 1);
                }
                for (int i = 0; i < b.length; i++) {
                    b[i] = (float) random.nextDouble(-1, 1);
                }
                long offset = 2; // unaligned rows (they follow Q8_0 sections in a block)
                MemorySegment.copy(b, 0, segment, RowCodec.FLOAT, offset, n);
                double exact = 0;
                for (int i = 0; i < n; i++) {
                    exact += (double) a[3 + i] * b[i];
                }
                double tolerance = 1e-5 * n;
                assertEquals(exact, best.dot(a, 3, segment, offset, n), tolerance, "segment dot n=" + n);
                assertEquals(exact, scalar.dot(a, 3, segment, offset, n), tolerance, "scalar segment dot n=" + n);
                assertEquals(exact, best.dot(a, 3, b, 0, n), tolerance, "array dot n=" + n);
                assertEquals(exact, scalar.dot(a, 3, b, 0, n), tolerance, "scalar array dot n=" + n);

                float[] y1 = a.clone();
                float[] y2 = a.clone();
                float[] y3 = a.clone();
                float[] y4 = a.clone();
                best.axpy(0.75f, segment, offset, y1, 3, n);
                scalar.axpy(0.75f, segment, offset, y2, 3, n);
                best.axpy(0.75f, b, 0, y3, 3, n);
                scalar.axpy(0.75f, b, 0, y4, 3, n);
                for (int i = 0; i < a.length; i++) {
                    float expected = i < 3 ? a[i] : a[i] + 0.75f * b[i - 3];
                    assertEquals(expected, y1[i], 1e-6f, "axpy n=" + n + " i=" + i);
                    assertEquals(expected, y2[i], 1e-6f);
                    assertEquals(expected, y3[i], 1e-6f);
                    assertEquals(expected, y4[i], 1e-6f);
                }
            }
        }
    }
}
