package io.kvcache.cli;

import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvSequence;
import io.kvcache.inference.InferenceEngine;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code kvcache logits MODEL --tokens 1,2,3 --steps N --out FILE}: float32 logits rows in the
 * layout of llama.cpp's reference files: every prompt position (one batch), then one row after
 * each of N greedy tokens fed one at a time.
 */
@Command(name = "logits", mixinStandardHelpOptions = true,
        description = "Write logits rows (prompt positions, then N greedy steps) as little-endian float32.")
final class LogitsCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = "--tokens", required = true, split = ",", description = "prompt token ids, comma-separated")
    int[] tokens = new int[0];

    @Option(names = "--steps", description = "greedy steps after the prompt (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--out", required = true, description = "output file")
    Path out = Path.of("");

    @CommandLine.Spec
    @SuppressWarnings("NullAway.Init")
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("--tokens needs at least one token id");
        }
        if (steps < 0) {
            throw new IllegalArgumentException("--steps must not be negative");
        }
        try (InferenceEngine engine = model.load(spec.commandLine().getErr());
             KvCache cache = KvCache.builder(engine.kvCacheSpec(model.contextFor(engine), model.kvType)).build();
             KvSequence seq = cache.newSequence();
             OutputStream file = new BufferedOutputStream(Files.newOutputStream(out))) {
            int vocab = engine.config().vocabularySize();
            float[] rows = engine.forwardAll(seq, tokens);
            write(file, rows);
            float[] last = Arrays.copyOfRange(rows, rows.length - vocab, rows.length);
            int[] greedy = new int[steps];
            for (int s = 0; s < steps; s++) {
                greedy[s] = argmax(last);
                last = engine.forward(seq, new int[] {greedy[s]});
                write(file, last);
            }
            spec.commandLine().getOut().println(Json.write(greedy));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out.toAbsolutePath() + ": " + e.getMessage(), e);
        }
        return 0;
    }

    private static void write(OutputStream out, float[] values) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        out.write(b.array());
    }

    /** Ties go to the lower id, as in llama.cpp's greedy sampler. */
    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
