package io.kvcache.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.model.SyntheticModel;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The steady-state decode step (engine forward into a reused logits buffer, one token) allocates
 * (next to) nothing on the calling thread, batched or not. Before this test existed a step
 * allocated ~173 KB on bench-110m: fresh logits, fresh activations, lambdas, pool jobs and a history copy.
 *
 * <p>Each case runs in a child JVM: whether C2 inlines every vector operation of the kernels (and so
 * keeps the vectors in registers instead of boxing them) depends on the profile that the tests run
 * before leave behind, which made this check depend on test order (seen: 3.8 KB per token after the
 * cache package's tests, 0 in a fresh JVM).
 */
class DecodeAllocationTest {
    private static final int LAYERS = 4;
    private static final int VOCAB = 4096;
    private static final int WARM_UP = 300;
    private static final int STEPS = 400;
    private static final int MAX_WINDOWS = 15;

    /**
     * What a decode step may allocate per token: nothing (engine, model, cache, attention and the
     * tensor kernels), plus a little slack for JIT/OSR noise in the measurement itself.
     */
    private static final long BYTES_PER_TOKEN = 64;

    /**
     * {@code inlining=none}: the child JVM may not inline any {@code io.kvcache} method into
     * another, so any code that passes a vector to or returns one from a method allocates (a boxed
     * vector per call) and fails: whether C2 inlines such a helper is C2's decision (the helper's
     * size, the code it compiled before), which the kernels must not rely on.
     */
    @ParameterizedTest(name = "{0} maxBatchSize={1} inlining={2}")
    @CsvSource({"F32, 1, default", "F32, 8, default", "Q8_0, 1, default", "Q8_0, 8, default", "Q8_0, 1, none",
        "Q4_0, 1, none", "F32, 1, none"})
    void steadyDecodeStepAllocatesNothingInEngineAndModel(GgmlType type, int maxBatchSize, String inlining)
            throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "--add-modules=jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Xss4m"));
        if (inlining.equals("none")) {
            cmd.addAll(List.of("-XX:CompileCommand=quiet",
                    "-XX:CompileCommand=dontinline,io.kvcache.*::*"));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DecodeAllocationTest.class.getName(),
                type.name(), String.valueOf(maxBatchSize)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "child JVM finished");
        assumeTrue(!output.contains("SKIP"), output);
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("ALLOCATION-OK"), output);
    }

    /** Child JVM entry: args = weight type, max batch size. Exit code 0 and ALLOCATION-OK when the step allocates nothing. */
    public static void main(String[] args) {
        try {
            measure(GgmlType.valueOf(args[0]), Integer.parseInt(args[1]));
            System.out.println("ALLOCATION-OK");
            System.exit(0);
        } catch (Throwable t) {
            System.out.println("FAIL " + t);
            System.exit(1);
        }
    }

    private static void measure(GgmlType type, int maxBatchSize) {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        if (!(bean instanceof com.sun.management.ThreadMXBean h && h.isThreadAllocatedMemorySupported())) {
            System.out.println("SKIP this JVM cannot measure per-thread allocation");
            System.exit(0);
        }
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        threads.setThreadAllocatedMemoryEnabled(true);

        byte[] gguf = SyntheticModel.builder().layers(LAYERS).embeddingLength(256).heads(8).kvHeads(4)
                .feedForwardLength(512).vocabularySize(VOCAB).contextLength(1024).weightType(type).seed(11).build();
        try (InferenceEngine engine = InferenceEngine.of(GgufFile.read(gguf),
                        new EngineOptions(2).withMaxBatchSize(maxBatchSize));
             KvCache cache = engine.createKvCache(1024, KvElementType.F32);
             KvSequence sequence = cache.newSequence()) {
            int depth = 32;
            int[] prompt = new int[depth];
            for (int i = 0; i < depth; i++) {
                prompt[i] = 10 + i;
            }
            engine.forward(sequence, prompt);
            float[] logits = new float[VOCAB];
            int[] token = {42};
            for (int i = 0; i < WARM_UP; i++) {
                step(engine, sequence, token, logits, depth);
            }

            long bound = BYTES_PER_TOKEN;
            // Steady state is reached once C2 has compiled the vector kernels (interpreted and C1 code
            // boxes vectors); how many steps that takes depends on the machine's load, so measure
            // windows until one is steady, for at most MAX_WINDOWS.
            long perToken = Long.MAX_VALUE;
            for (int window = 0; window < MAX_WINDOWS && perToken > bound; window++) {
                long before = threads.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < STEPS; i++) {
                    step(engine, sequence, token, logits, depth);
                }
                perToken = (threads.getCurrentThreadAllocatedBytes() - before) / STEPS;
            }
            if (perToken > bound) {
                throw new AssertionError("a steady decode step allocated " + perToken + " bytes per token on the"
                        + " calling thread, more than " + bound + ", at" + io.kvcache.tensor.AllocationSites.of(
                                () -> step(engine, sequence, token, logits, depth), STEPS));
            }
            // The reused buffer holds real logits: the same step twice gives the same values.
            float[] again = new float[VOCAB];
            sequence.truncate(depth);
            engine.forward(sequence, token, again);
            assertArrayEquals(logits, again);
        }
    }

    /** One token at a fixed depth: the sequence is cut back after each step so every step is alike. */
    private static void step(InferenceEngine engine, KvSequence sequence, int[] token, float[] logits, int depth) {
        engine.forward(sequence, token, logits);
        sequence.truncate(depth);
    }
}
