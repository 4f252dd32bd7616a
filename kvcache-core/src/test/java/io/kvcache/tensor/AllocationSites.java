package io.kvcache.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where an action allocates on the calling thread, from a JFR recording of its TLAB refills and
 * large allocations: for the message of an allocation test that failed. The failures these tests
 * catch depend on how C2 compiled the kernels in that JVM (a vector boxed at a method boundary C2
 * did not inline), so the message must say where, from the failing run itself.
 */
public final class AllocationSites {
    private AllocationSites() {
    }

    /** The top allocating stacks (6 frames each) of {@code calls} runs of {@code action} on this thread. */
    public static String of(Runnable action, int calls) {
        long thread = Thread.currentThread().threadId();
        Path file;
        try (Recording recording = new Recording()) {
            recording.enable("jdk.ObjectAllocationInNewTLAB").withStackTrace();
            recording.enable("jdk.ObjectAllocationOutsideTLAB").withStackTrace();
            recording.start();
            for (int i = 0; i < calls; i++) {
                action.run();
            }
            recording.stop();
            file = Files.createTempFile("kvcache-allocations", ".jfr");
            recording.dump(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            Map<String, Long> bytes = new HashMap<>();
            for (RecordedEvent e : RecordingFile.readAllEvents(file)) {
                if (e.getThread() == null || e.getThread().getJavaThreadId() != thread || e.getStackTrace() == null) {
                    continue;
                }
                List<RecordedFrame> frames = e.getStackTrace().getFrames();
                String where = e.getClass("objectClass").getName() + " at " + frames.stream().limit(6)
                        .map(f -> f.getMethod().getType().getName() + "." + f.getMethod().getName() + ":" + f.getLineNumber())
                        .collect(Collectors.joining(" <- "));
                bytes.merge(where, e.getEventType().getName().endsWith("NewTLAB") ? e.getLong("tlabSize") : e.getLong("allocationSize"),
                        Long::sum);
            }
            return bytes.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(3)
                    .map(en -> en.getValue() + " bytes: " + en.getKey()).collect(Collectors.joining("\n  ", "\n  ", ""));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a temporary file; the message matters more
            }
        }
    }
}
