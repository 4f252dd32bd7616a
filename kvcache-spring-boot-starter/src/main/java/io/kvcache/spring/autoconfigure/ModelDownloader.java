package io.kvcache.spring.autoconfigure;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Downloads a model file once into a cache directory: an interrupted download continues from its
 * {@code .part} file with an HTTP {@code Range} request, progress is logged every 10%, and an
 * optional SHA-256 digest is checked before the file is moved into place.
 *
 * <p>Thread-safe. Downloads of the same file by several processes take turns through a file lock
 * ({@code <name>.lock}); the later ones find the finished file. Close it to release the HTTP client.
 */
final class ModelDownloader implements AutoCloseable {
    private static final Log logger = LogFactory.getLog(ModelDownloader.class);
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-fA-F]{64}");
    /** Progress interval when the server does not say how large the file is. */
    private static final long PROGRESS_BYTES = 64L << 20;
    private static final String ACTION = "Check kvcache.model.url (and that the server is reachable), or download the"
            + " file yourself and set kvcache.model.path instead.";

    private static final ConcurrentMap<Path, ReentrantLock> LOCAL_LOCKS = new ConcurrentHashMap<>();

    private final HttpClient client;
    private final Duration requestTimeout;

    ModelDownloader(Duration connectTimeout, Duration requestTimeout) {
        this.client = HttpClient.newBuilder()
                .connectTimeout(connectTimeout)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        this.requestTimeout = requestTimeout;
    }

    @Override
    public void close() {
        client.close();
    }

    /**
     * The local copy of {@code url} in {@code cacheDir}, downloading (or finishing) it when needed.
     *
     * @throws KvCacheConfigurationException when the URL is unusable, the download fails or the
     *     digest differs
     */
    Path obtain(URI url, Path cacheDir, @Nullable String sha256) {
        String expected = normalizeDigest(sha256);
        Path target = cacheDir.resolve(fileName(url));
        if (isUsable(target, expected, url)) {
            return target;
        }
        Path lockFile = target.resolveSibling(target.getFileName() + ".lock");
        try {
            Files.createDirectories(cacheDir);
        } catch (IOException e) {
            throw new KvCacheConfigurationException("Could not create the model cache directory " + cacheDir + ": " + e,
                    "Set kvcache.model.cache-dir to a writable directory.", e);
        }
        // Another thread or process may be downloading the same file: take turns. A FileLock is held
        // per JVM, so threads of this JVM first queue on an in-process lock.
        ReentrantLock local = LOCAL_LOCKS.computeIfAbsent(target.toAbsolutePath().normalize(), k -> new ReentrantLock());
        local.lock();
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock held = channel.lock();
            try {
                return isUsable(target, expected, url) ? target : fetch(url, target, expected);
            } finally {
                held.release();
            }
        } catch (IOException e) {
            throw new KvCacheConfigurationException("Could not lock " + lockFile + " for the model download: " + e,
                    "Make kvcache.model.cache-dir (" + cacheDir + ") writable.", e);
        } finally {
            local.unlock();
        }
    }

    /** Whether the target exists with the expected digest; deletes it when the digest differs. */
    private static boolean isUsable(Path target, @Nullable String expected, URI url) {
        if (!Files.isRegularFile(target)) {
            return false;
        }
        if (expected == null || expected.equals(digest(target))) {
            logger.debug("Using cached model " + target + " for " + forLog(url));
            return true;
        }
        logger.warn("Cached model " + target.getFileName() + " does not have the SHA-256 given in kvcache.model.sha256;"
                + " downloading it again from " + forLog(url));
        deleteQuietly(target);
        return false;
    }

    private Path fetch(URI url, Path target, @Nullable String expected) {
        Path part = target.resolveSibling(target.getFileName() + ".part");
        try {
            download(url, part, true);
        } catch (IOException e) {
            throw new KvCacheConfigurationException("Could not download the model from " + url + " into " + part
                    + ": " + e, ACTION + " An interrupted download resumes from " + part + " on the next start.", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KvCacheConfigurationException("The model download from " + url + " was interrupted",
                    "Start the application again; the download resumes from " + part + ".", e);
        }
        if (expected != null) {
            String actual = digest(part);
            if (!expected.equals(actual)) {
                deleteQuietly(part);
                throw new KvCacheConfigurationException("The model downloaded from " + url + " has SHA-256 " + actual
                        + " but kvcache.model.sha256 expects " + expected + " (the download was deleted)",
                        "Correct kvcache.model.sha256 (or remove it), or point kvcache.model.url at the file you meant.");
            }
        }
        try {
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new KvCacheConfigurationException("Could not move the downloaded model " + part + " to " + target
                    + ": " + e, "Make kvcache.model.cache-dir (" + target.getParent() + ") writable.", e);
        }
        logger.info("Downloaded model " + forLog(url) + " to " + target.getFileName() + " in kvcache.model.cache-dir");
        logger.debug("Model cache file: " + target);
        return target;
    }

    private void download(URI url, Path part, boolean mayRestart) throws IOException, InterruptedException {
        long existing = Files.isRegularFile(part) ? Files.size(part) : 0;
        HttpRequest.Builder request = HttpRequest.newBuilder(url).timeout(requestTimeout).GET();
        if (existing > 0) {
            request.header("Range", "bytes=" + existing + "-");
        }
        HttpResponse<InputStream> response = client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = response.body()) {
            int status = response.statusCode();
            if (status == 416 && existing > 0) {
                // The part may already be complete (a crash between the last byte and the rename).
                long total = response.headers().firstValue("Content-Range")
                        .map(ModelDownloader::totalOfUnsatisfiedRange).orElse(-1L);
                if (total == existing) {
                    return;
                }
                if (mayRestart) {
                    Files.delete(part);
                    download(url, part, false);
                    return;
                }
            }
            if (status == 206 && existing > 0) {
                String range = response.headers().firstValue("Content-Range").orElse("");
                Matcher m = CONTENT_RANGE.matcher(range);
                if (!m.matches() || Long.parseLong(m.group(1)) != existing) {
                    throw new IOException("the server answered a request for bytes from " + existing
                            + " with Content-Range '" + range + "'");
                }
                long total = "*".equals(m.group(3)) ? -1 : Long.parseLong(m.group(3));
                logger.info("Resuming the model download from " + forLog(url) + " at " + existing + " bytes");
                copy(body, part, existing, total, true, url);
            } else if (status == 200) {
                OptionalLong length = response.headers().firstValueAsLong("Content-Length");
                logger.info("Downloading model " + forLog(url)
                        + (length.isPresent() ? " (" + length.getAsLong() + " bytes)" : "") + " to " + part.getFileName());
                copy(body, part, 0, length.orElse(-1), false, url);
            } else {
                throw new IOException("HTTP status " + status);
            }
        }
    }

    private static void copy(InputStream body, Path part, long start, long total, boolean append, URI url)
            throws IOException {
        StandardOpenOption mode = append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING;
        long written = start;
        int lastDecile = total > 0 ? (int) (written * 10 / total) : 0;
        try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode)) {
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = body.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                written += n;
                if (total > 0) {
                    int decile = (int) (written * 10 / total);
                    if (decile > lastDecile) {
                        lastDecile = decile;
                        logger.info("Model download " + forLog(url) + ": " + decile * 10 + "% (" + written + " of " + total
                                + " bytes)");
                    }
                } else if (written / PROGRESS_BYTES > (written - n) / PROGRESS_BYTES) {
                    logger.info("Model download " + forLog(url) + ": " + written + " bytes so far");
                }
            }
        }
        if (total > 0 && written != total) {
            throw new IOException("the connection ended after " + written + " of " + total + " bytes");
        }
    }

    private static long totalOfUnsatisfiedRange(String contentRange) {
        int slash = contentRange.lastIndexOf('/');
        try {
            return slash < 0 ? -1 : Long.parseLong(contentRange.substring(slash + 1).trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The last path segment of the URL: the name the file gets in the cache directory. */
    static String fileName(URI url) {
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new KvCacheConfigurationException("kvcache.model.url " + url + " is not an http or https address",
                    "Set kvcache.model.url to an http(s) URL of a GGUF file, or use kvcache.model.path for a local file.");
        }
        String path = url.getPath() == null ? "" : url.getPath();
        String name = path.substring(path.lastIndexOf('/') + 1);
        if (name.isEmpty() || name.equals(".") || name.equals("..")) {
            throw new KvCacheConfigurationException("kvcache.model.url " + url + " does not end with a file name",
                    "Set kvcache.model.url to the address of the GGUF file itself (e.g. https://host/models/model.gguf).");
        }
        return name;
    }

    static @Nullable String normalizeDigest(@Nullable String sha256) {
        if (sha256 == null || sha256.isBlank()) {
            return null;
        }
        String trimmed = sha256.trim();
        if (!SHA256.matcher(trimmed).matches()) {
            throw new KvCacheConfigurationException("kvcache.model.sha256 '" + sha256 + "' is not a SHA-256 digest",
                    "Set kvcache.model.sha256 to the file's 64 hexadecimal digits (e.g. the output of sha256sum), or remove it.");
        }
        return trimmed.toLowerCase(Locale.ROOT);
    }

    /** The lower-case hex SHA-256 of a file. */
    static String digest(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                sha.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(sha.digest());
        } catch (IOException e) {
            throw new KvCacheConfigurationException("Could not read " + file + " to check its SHA-256: " + e,
                    "Make the file readable, or remove kvcache.model.sha256.", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256 (required by the Java SE specification)", e);
        }
    }

    /**
     * The URL as logged: scheme, host, port and path only. User info and query strings are dropped
     * because they are where credentials live (basic auth, pre-signed URL signatures, access tokens).
     */
    static String forLog(URI url) {
        if (url.getHost() == null) {
            return "<" + url.getScheme() + " URL>";
        }
        return url.getScheme() + "://" + url.getHost() + (url.getPort() >= 0 ? ":" + url.getPort() : "")
                + (url.getRawPath() == null ? "" : url.getRawPath());
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            logger.warn("Could not delete " + file.getFileName() + " in kvcache.model.cache-dir: " + e.getClass().getSimpleName());
            logger.debug("Could not delete " + file, e);
        }
    }
}
