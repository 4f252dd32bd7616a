package io.kvcache.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the project's shared test models ({@code ../shared/models} next to the repository).
 * Tests that need them skip with a clear message when the folder is absent; {@code .ci/run}
 * refuses to run without it, so CI never skips them silently.
 */
public final class SharedModels {
    private SharedModels() {
    }

    /** The shared folder: {@code -Dkvcache.shared=...}, else the first {@code shared} found upwards. */
    public static Path sharedDir() {
        String prop = System.getProperty("kvcache.shared");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop).toAbsolutePath().normalize();
        }
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            Path candidate = p.resolveSibling("shared");
            if (Files.isDirectory(candidate.resolve("models"))) {
                return candidate.normalize();
            }
        }
        return dir.resolveSibling("shared").normalize();
    }

    /** A file under {@code shared/models}; skips the test when it is absent. */
    public static Path model(String relative) {
        return require(sharedDir().resolve("models").resolve(relative));
    }

    /** A file under {@code shared/reference}; skips the test when it is absent. */
    public static Path reference(String relative) {
        return require(sharedDir().resolve("reference").resolve(relative));
    }

    private static Path require(Path p) {
        assumeTrue(Files.isRegularFile(p), () -> "skipped: shared test data " + p
                + " is absent (put the project's shared/ folder beside the repository)");
        return p;
    }
}
