package io.kvcache.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a test's {@code main} in a JVM of its own (this JVM's java and class path, the Vector API
 * module): for checks whose outcome depends on how C2 compiled the kernels, which in the test
 * suite's JVM depends on everything the suite ran before.
 */
public final class ChildJvm {
    private ChildJvm() {
    }

    /**
     * Runs {@code main} with {@code jvmFlags} and {@code args}; asserts that it exits 0 within five
     * minutes and printed {@code success}, and returns its output (the assertion messages carry it).
     */
    public static String run(Class<?> main, List<String> jvmFlags, String success, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss4m"));
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "child JVM finished");
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains(success), output);
        return output;
    }
}
