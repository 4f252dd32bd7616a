package io.kvcache.spring.autoconfigure;

import io.kvcache.gguf.GgufFormatException;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.model.UnsupportedModelException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;

/**
 * Loads the model that {@code kvcache.model.*} names, turning every way it can fail into a
 * {@link KvCacheConfigurationException} that says which property to change. Stateless and
 * thread-safe.
 */
final class ModelLoader {
    private static final Log logger = LogFactory.getLog(ModelLoader.class);

    private ModelLoader() {
    }

    static InferenceEngine load(KvCacheProperties properties) {
        KvCacheProperties.Model model = properties.getModel();
        Path path = resolve(model);
        if (model.getUrl() == null && model.getSha256() != null) {
            String expected = ModelDownloader.normalizeDigest(model.getSha256());
            String actual = ModelDownloader.digest(path);
            if (!actual.equals(expected)) {
                throw new KvCacheConfigurationException("The model file " + path + " has SHA-256 " + actual
                        + " but kvcache.model.sha256 expects " + expected,
                        "Point kvcache.model.path at the intended file, or correct (or remove) kvcache.model.sha256.");
            }
        }
        int threads = properties.effectiveThreads();
        if (threads < 1) {
            throw new KvCacheConfigurationException("kvcache.threads is " + threads + " but at least one compute thread is needed",
                    "Set kvcache.threads to a positive number, or remove it to use one thread per processor.");
        }
        int maxBatchSize = properties.getMaxBatchSize();
        if (maxBatchSize < 1) {
            throw new KvCacheConfigurationException("kvcache.max-batch-size is " + maxBatchSize
                    + " but a decode step needs room for at least one generation",
                    "Set kvcache.max-batch-size to 1 (no batching) or more, or remove it for the default of "
                            + EngineOptions.DEFAULT_MAX_BATCH_SIZE + ".");
        }
        long start = System.nanoTime();
        InferenceEngine engine;
        try {
            engine = InferenceEngine.load(path, new EngineOptions(threads).withMaxBatchSize(maxBatchSize)
                    .withQuantizedActivations(properties.isQuantizeActivations()));
        } catch (GgufFormatException e) {
            throw new KvCacheConfigurationException("The model file " + path + " is not a valid GGUF file: "
                    + e.getMessage(), "Point kvcache.model.path (or kvcache.model.url) at a GGUF model file.", e);
        } catch (UnsupportedModelException e) {
            throw new KvCacheConfigurationException("The model " + path + " cannot run on kvcache: " + e.getMessage(),
                    "Use a Llama-family GGUF model this engine supports in kvcache.model.path (or kvcache.model.url).", e);
        } catch (UncheckedIOException e) {
            throw new KvCacheConfigurationException("The model file " + path + " could not be read: " + e.getCause(),
                    "Make kvcache.model.path point at a readable file.", e);
        }
        // The file name only at INFO: the directory can reveal user names and layout to log collectors.
        logger.info("Loaded " + engine + " from " + path.getFileName() + " with " + engine.threads()
                + " compute threads (batching up to " + engine.maxBatchSize() + " generations per step) in " + (System.nanoTime() - start) / 1_000_000 + " ms");
        logger.debug("Model file: " + path);
        return engine;
    }

    /** The local model file, downloading it first when only a URL is given. */
    static Path resolve(KvCacheProperties.Model model) {
        Path path = model.getPath();
        URI url = model.getUrl();
        if (path != null && url != null) {
            throw new KvCacheConfigurationException("Both kvcache.model.path (" + path + ") and kvcache.model.url ("
                    + url + ") are set", "Set only one of kvcache.model.path and kvcache.model.url.");
        }
        if (url != null) {
            try (ModelDownloader downloader = new ModelDownloader(model.getConnectTimeout(), model.getRequestTimeout())) {
                return downloader.obtain(url, model.getCacheDir(), model.getSha256());
            }
        }
        if (path == null) {
            throw new KvCacheConfigurationException("kvcache.model.path or kvcache.model.url is set but empty",
                    "Give kvcache.model.path a GGUF file (or kvcache.model.url an http(s) address), or remove the"
                            + " empty property.");
        }
        Path absolute = path.toAbsolutePath().normalize();
        if (!Files.exists(absolute)) {
            throw new KvCacheConfigurationException("The model file " + absolute + " (kvcache.model.path=" + path
                    + ") does not exist", "Set kvcache.model.path to an existing GGUF file (relative paths resolve"
                    + " against the working directory " + Path.of("").toAbsolutePath() + "), or set kvcache.model.url"
                    + " to download one.");
        }
        if (!Files.isRegularFile(absolute)) {
            throw new KvCacheConfigurationException("kvcache.model.path " + absolute + " is not a regular file",
                    "Set kvcache.model.path to the GGUF file itself, not a directory.");
        }
        if (!Files.isReadable(absolute)) {
            throw new KvCacheConfigurationException("The model file " + absolute + " cannot be read (permission denied)",
                    "Make the file readable by the application's user, or point kvcache.model.path at a readable copy.");
        }
        return absolute;
    }
}
