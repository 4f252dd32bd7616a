package io.kvcache.bench.jmh;

import io.kvcache.gguf.GgufFile;
import io.kvcache.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encoding and decoding an English text of about 4 KB with the Llama SentencePiece vocabulary.
 * The vocabulary path is relative to the repository root (run from there, or pass
 * {@code -p vocab=/path/to/ggml-vocab-llama-spm.gguf}).
 *
 * <p>A JMH state object: JMH drives it from one benchmark thread (not thread-safe otherwise).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR, JvmFlags.NATIVE})
public class TokenizerBenchmark {
    private static final String PARAGRAPH = "Once upon a time, in a small village at the edge of a great forest,"
            + " there lived a little girl named Lily. Every morning she walked to the river with her dog, Max,"
            + " to watch the fish jump and the birds sing. One day she found a shiny stone that glowed in the"
            + " dark. \"What is this?\" she asked her grandmother, who smiled and said: \"It's a wishing stone,"
            + " but it only works for people who share.\" Lily thought about it for 3 days, then gave it to her"
            + " friend Tom, whose family had lost their home in the storm of 1999. ";

    @Param({"../shared/models/vocab/ggml-vocab-llama-spm.gguf"})
    public String vocab;

    private Tokenizer tokenizer;
    private String text;
    private int[] ids;

    @Setup(Level.Trial)
    public void setUp() {
        Path path = Path.of(vocab);
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException("vocabulary " + path.toAbsolutePath() + " not found: run from the"
                    + " repository root (next to shared/) or pass -p vocab=PATH");
        }
        try (GgufFile file = GgufFile.open(path)) {
            tokenizer = Tokenizer.fromGguf(file.metadata());
        }
        text = PARAGRAPH.repeat(8);
        ids = tokenizer.encode(text);
    }

    /** One call encodes {@code text} (about 4,100 characters, about 1,000 tokens). */
    @Benchmark
    public int[] encode() {
        return tokenizer.encode(text);
    }

    @Benchmark
    public String decode() {
        return tokenizer.decode(ids);
    }
}
