package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.VectorSupport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs the kernels in a child JVM started WITHOUT {@code --add-modules=jdk.incubator.vector}:
 * they must fall back to scalar code, give correct results, and never load an incubator class.
 */
class ScalarFallbackTest {

    /** Entry point of the child JVM. Exit code 0 = all checks passed. */
    public static void main(String[] args) {
        if (VectorSupport.ENABLED) {
            System.out.println("FAIL vector kernels enabled without the module");
            System.exit(2);
        }
        int failures = 0;
        try (ComputePool pool = ComputePool.create(2)) {
            for (GgmlType type : WeightMatrix.supportedTypes()) {
                int cols = type.blockSize() == 256 ? 512 : 96;
                int rows = 33;
                byte[][] bytes = new byte[1][];
                WeightMatrix m = WeightMatrixTest.randomMatrix(type, rows, cols, type.id(), bytes);
                float[] w = ReferenceDequant.dequantize(type, bytes[0], rows * cols);
                float[] x = new float[cols];
                SplittableRandom rng = new SplittableRandom(3);
                for (int i = 0; i < cols; i++) {
                    x[i] = (float) rng.nextDouble(-1, 1);
                }
                float[] out = new float[rows];
                Kernels.matvec(m, x, 0, out, 0, pool);
                // A batch of 5 copies of x: exercises matmul (and its dequantize-once path).
                float[] xs = new float[5 * cols];
                for (int i = 0; i < 5; i++) {
                    System.arraycopy(x, 0, xs, i * cols, cols);
                }
                float[] outs = new float[5 * rows];
                Kernels.matmul(m, xs, 5, outs, pool);
                for (int i = 0; i < 5 * rows; i++) {
                    if (Math.abs(outs[i] - out[i % rows]) > 1e-5f * (1 + Math.abs(out[i % rows]))) {
                        System.out.println("FAIL " + type + " matmul " + i + ": " + outs[i] + " vs " + out[i % rows]);
                        failures++;
                    }
                }
                float[] xr = ReferenceDequant.kernelInputs(type, x, cols);
                for (int r = 0; r < rows; r++) {
                    double exact = 0;
                    double magnitude = 0;
                    for (int c = 0; c < cols; c++) {
                        exact += (double) w[r * cols + c] * xr[c];
                        magnitude += Math.abs((double) w[r * cols + c] * xr[c]);
                    }
                    if (Math.abs(exact - out[r]) > 1e-5 * magnitude) {
                        System.out.println("FAIL " + type + " row " + r + ": " + out[r] + " vs " + exact);
                        failures++;
                    }
                }
            }
        }
        System.out.println(failures == 0 ? "SCALAR-OK" : "FAILURES " + failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    @Test
    void kernelsWorkWithoutTheVectorModule() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "-Xlog:class+load=info:stdout",
                "-cp", System.getProperty("java.class.path"), ScalarFallbackTest.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        List<String> lines = output.lines().toList();
        List<String> verdict = lines.stream().filter(l -> !l.startsWith("[")).toList();
        assertEquals(0, p.exitValue(), String.join("\n", verdict));
        assertTrue(output.contains("SCALAR-OK"), String.join("\n", verdict));
        List<String> loaded = lines.stream().filter(l -> l.contains("[class,load]")).toList();
        assertTrue(loaded.stream().anyMatch(l -> l.contains("io.kvcache.tensor.internal.VectorSupport")),
                "class loading was logged");
        assertFalse(loaded.stream().anyMatch(l -> l.contains("jdk.incubator.vector.") || l.contains("internal.vector.")),
                "no incubator or vector-kernel class may load without the module");
        assertTrue(output.contains("Vector API is unavailable"), "a warning tells the user how to enable it");
    }
}
