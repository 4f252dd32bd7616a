package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvcache.gguf.GgmlType;
import io.kvcache.tensor.internal.BlockMatrix;
import io.kvcache.tensor.internal.VectorSupport;
import io.kvcache.tensor.internal.vector.VectorProbe;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Runs the vector kernels with 8 and with 16 float lanes in child JVMs
 * ({@code -Dkvcache.vector.bits}), whatever this machine prefers: both code shapes must match
 * the reference. A shape wider than the hardware's runs emulated (slow but exact).
 */
class VectorShapesTest {

    /** Child JVM entry: args[0] = expected lanes. Exit code 0 = all checks passed. */
    public static void main(String[] args) {
        int lanes = Integer.parseInt(args[0]);
        if (!VectorSupport.ENABLED || VectorProbe.preferredFloatLanes() != lanes) {
            System.out.println("FAIL lanes " + VectorProbe.preferredFloatLanes() + " enabled " + VectorSupport.ENABLED);
            System.exit(2);
        }
        int failures = 0;
        for (GgmlType type : WeightMatrix.supportedTypes()) {
            int[] colsList = switch (type.blockSize()) {
                case 256 -> new int[] {256, 768};
                case 1 -> new int[] {32, 40, 64, 96, 544};
                default -> new int[] {32, 64, 96, 544};
            };
            for (int cols : colsList) {
                int rows = 3;
                byte[][] bytes = new byte[1][];
                WeightMatrix m = WeightMatrixTest.randomMatrix(type, rows, cols, cols + type.id(), bytes);
                float[] w = ReferenceDequant.dequantize(type, bytes[0], rows * cols);
                SplittableRandom rng = new SplittableRandom(cols);
                float[] x = new float[cols + 1];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) rng.nextDouble(-1, 1);
                }
                for (int r = 0; r < rows; r++) {
                    double exact = 0;
                    double magnitude = 0;
                    for (int c = 0; c < cols; c++) {
                        exact += (double) w[r * cols + c] * x[1 + c];
                        magnitude += Math.abs((double) w[r * cols + c] * x[1 + c]);
                    }
                    float got = ((BlockMatrix) m).vectorDot(r, x, 1);
                    if (!(Math.abs(exact - got) <= 1e-5 * magnitude)) {
                        System.out.println("FAIL " + type + " cols " + cols + " row " + r + ": " + got + " vs " + exact);
                        failures++;
                    }
                }
                failures += checkMatmul(type, m, w, rows, cols);
                if (cols == colsList[0]) {
                    failures += checkPanelDequantization(type, m, w, rows, cols);
                }
            }
        }
        System.out.println(failures == 0 ? "VECTOR-OK " + lanes : "FAILURES " + failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    /** The batched product (2 x 4 register tiles, row and vector edges) on 5 vectors. */
    private static int checkMatmul(GgmlType type, WeightMatrix m, float[] w, int rows, int cols) {
        int n = 5;
        SplittableRandom rng = new SplittableRandom(cols + 99);
        float[] xs = new float[n * cols];
        for (int i = 0; i < xs.length; i++) {
            xs[i] = (float) rng.nextDouble(-1, 1);
        }
        float[] out = new float[n * rows];
        int failures = 0;
        try (ComputePool pool = ComputePool.create(1)) {
            Kernels.matmul(m, xs, n, out, pool);
        }
        xs = ReferenceDequant.kernelInputs(type, xs, cols);
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < rows; r++) {
                double exact = 0;
                double magnitude = 0;
                for (int c = 0; c < cols; c++) {
                    exact += (double) w[r * cols + c] * xs[i * cols + c];
                    magnitude += Math.abs((double) w[r * cols + c] * xs[i * cols + c]);
                }
                if (!(Math.abs(exact - out[i * rows + r]) <= 1e-5 * magnitude)) {
                    System.out.println("FAIL matmul " + type + " cols " + cols + " vector " + i + " row " + r + ": "
                            + out[i * rows + r] + " vs " + exact);
                    failures++;
                }
            }
        }
        return failures;
    }

    /** Unit vectors as the batch return the dequantized panel itself: it must be bit-exact. */
    private static int checkPanelDequantization(GgmlType type, WeightMatrix m, float[] w, int rows, int cols) {
        float[] xs = new float[cols * cols];
        for (int j = 0; j < cols; j++) {
            xs[j * cols + j] = 1;
        }
        float[] out = new float[cols * rows];
        try (ComputePool pool = ComputePool.create(1)) {
            Kernels.matmul(m, xs, cols, out, pool, false); // F32 activations: 1 must stay exactly 1
        }
        int failures = 0;
        for (int j = 0; j < cols; j++) {
            for (int r = 0; r < rows; r++) {
                if (out[j * rows + r] != w[r * cols + j]) {
                    System.out.println("FAIL dequantized panel " + type + " element (" + r + ", " + j + "): "
                            + out[j * rows + r] + " vs " + w[r * cols + j]);
                    failures++;
                }
            }
        }
        return failures;
    }

    @ParameterizedTest
    @CsvSource({"256, 8", "512, 16"})
    void bothKernelShapesMatchTheReference(int bits, int lanes) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = List.of(java, "--add-modules=jdk.incubator.vector", "-Dkvcache.vector.bits=" + bits,
                "-cp", System.getProperty("java.class.path"), VectorShapesTest.class.getName(), String.valueOf(lanes));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "child JVM finished");
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("VECTOR-OK " + lanes), output);
    }
}
