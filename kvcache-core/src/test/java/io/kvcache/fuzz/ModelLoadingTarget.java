package io.kvcache.fuzz;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.gguf.GgufFile;
import io.kvcache.gguf.GgufFormatException;
import io.kvcache.inference.EngineOptions;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.model.UnsupportedModelException;
import io.kvcache.tokenizer.Tokenizer;
import java.lang.management.ManagementFactory;

/**
 * The fuzz target shared by {@link FuzzModelLoadingTest} (Jazzer) and the regression tests: bytes
 * are read as GGUF, loaded as a model, their tokenizer built and exercised, and one token run
 * through the model on a tiny cache.
 *
 * <p>The contract checked: every input ends in success, {@link GgufFormatException} or
 * {@link UnsupportedModelException} with a non-blank message; a tokenizer problem surfaces only as
 * the {@code IllegalArgumentException} that {@code Tokenizer.fromGguf} documents (wrapped in an
 * {@link UnsupportedModelException} by {@code engine.tokenizer()}). Anything else (NullPointerException,
 * IndexOutOfBoundsException for a read outside the file, ArithmeticException,
 * NegativeArraySizeException, OutOfMemoryError, StackOverflowError...) propagates and fails the
 * run. Allocation is checked too: a malformed file must not make the loader allocate more than
 * {@link #allocationLimit(int)} bytes, which is linear in the input size.
 *
 * <p>Not thread-safe: run one input at a time per thread.
 */
public final class ModelLoadingTarget {

    /** How an input ended. */
    public enum Outcome {
        /** Not GGUF, or malformed GGUF. */
        FORMAT_ERROR,
        /** Valid GGUF, but no model this engine runs (architecture, tensors, shapes, types). */
        UNSUPPORTED_MODEL,
        /** The model loaded and ran one token; its tokenizer was unusable (documented error). */
        LOADED_WITHOUT_TOKENIZER,
        /** The model loaded, its tokenizer round-tripped text, and it ran one token. */
        LOADED
    }

    /** Text encoded with the fuzzed tokenizer: ASCII, spaces, a multi-byte character. */
    private static final String SAMPLE_TEXT = "Once upon a time, é";
    private static final int CACHE_CONTEXT = 8;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private ModelLoadingTarget() {
    }

    /**
     * Bytes the whole pipeline may allocate for an input of {@code inputBytes}: 64 per input byte
     * (strings, vocab maps, float copies of F16 norms...) plus 48 MiB of fixed overhead (regex
     * compilation, class loading, activation buffers of a tiny model).
     */
    public static long allocationLimit(int inputBytes) {
        return 64L * inputBytes + (48L << 20);
    }

    /**
     * Runs one input and checks the allocation bound; throws on any contract violation. An input
     * over the bound is run a second time before failing, because the first run of a code path
     * also pays for class loading (and, under Jazzer, instrumentation) on this thread.
     */
    public static Outcome run(byte[] data) {
        if (!THREADS.isThreadAllocatedMemorySupported() || !THREADS.isThreadAllocatedMemoryEnabled()) {
            return load(data);
        }
        long before = THREADS.getCurrentThreadAllocatedBytes();
        Outcome outcome = load(data);
        if (THREADS.getCurrentThreadAllocatedBytes() - before <= allocationLimit(data.length)) {
            return outcome;
        }
        before = THREADS.getCurrentThreadAllocatedBytes();
        load(data);
        long allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        if (allocated > allocationLimit(data.length)) {
            throw new AssertionError("an input of " + data.length + " bytes made the loader allocate " + allocated
                    + " bytes (limit " + allocationLimit(data.length) + "); outcome " + outcome);
        }
        return outcome;
    }

    private static Outcome load(byte[] data) {
        GgufFile file;
        try {
            file = GgufFile.read(data);
        } catch (GgufFormatException e) {
            return expected(Outcome.FORMAT_ERROR, e);
        }
        InferenceEngine engine;
        try {
            engine = InferenceEngine.of(file, new EngineOptions(1));
        } catch (GgufFormatException e) {
            return expected(Outcome.FORMAT_ERROR, e);
        } catch (UnsupportedModelException e) {
            return expected(Outcome.UNSUPPORTED_MODEL, e);
        }
        try (engine) {
            Outcome outcome = exerciseTokenizer(engine);
            runOneToken(engine);
            return outcome;
        }
    }

    private static Outcome exerciseTokenizer(InferenceEngine engine) {
        Tokenizer tokenizer;
        try {
            tokenizer = engine.tokenizer();
        } catch (UnsupportedModelException e) {
            Throwable cause = e.getCause();
            if (cause != null && !(cause instanceof IllegalArgumentException)) {
                throw new AssertionError("tokenizer construction failed with an undocumented " + cause.getClass().getName()
                        + " instead of the IllegalArgumentException Tokenizer.fromGguf documents", cause);
            }
            return expected(Outcome.LOADED_WITHOUT_TOKENIZER, e);
        }
        int[] ids = tokenizer.encode(SAMPLE_TEXT, true, true);
        for (int id : ids) {
            if (id < 0 || id >= tokenizer.vocabularySize()) {
                throw new AssertionError("encode produced token id " + id + " outside the vocabulary [0, "
                        + tokenizer.vocabularySize() + ") of " + tokenizer);
            }
        }
        // Decoding must accept every id the encoder produced; a fuzzed vocabulary need not round-trip.
        tokenizer.decode(ids, true);
        var decoder = tokenizer.newDecoder(false);
        for (int id : ids) {
            decoder.append(id);
        }
        decoder.flush();
        return Outcome.LOADED;
    }

    private static void runOneToken(InferenceEngine engine) {
        try (KvCache cache = engine.createKvCache(CACHE_CONTEXT, KvElementType.F32);
                KvSequence sequence = cache.newSequence()) {
            float[] logits = engine.forward(sequence, new int[] {0});
            if (logits.length != engine.config().vocabularySize()) {
                throw new AssertionError("forward returned " + logits.length + " logits for a vocabulary of "
                        + engine.config().vocabularySize());
            }
        }
    }

    private static Outcome expected(Outcome outcome, RuntimeException e) {
        if (e.getMessage() == null || e.getMessage().isBlank()) {
            throw new AssertionError(e.getClass().getSimpleName() + " without a message", e);
        }
        return outcome;
    }
}
