package io.kvcache.bench;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Measures llama.cpp on the same GGUF file through the {@code de.kherud:llama} JNI binding (which
 * embeds llama.cpp's server loop): prompt processing as one completion request with
 * {@code n_predict = 1} and prompt caching off; decoding as the time of {@code n + 1} predicted
 * tokens minus that of one, with the prompt cached (see {@link #decode}).
 *
 * <p>Sampling is greedy ({@code top_k = 1}, temperature 0) with end-of-sequence ignored and the
 * special and byte tokens disabled (a random model may pick them; they would end generation or
 * be held back as partial UTF-8). llama.cpp logs to the process's standard error on its own; the
 * run script keeps that in {@code bench.log}. Not thread-safe.
 */
public final class LlamaCppRunner implements AutoCloseable {
    private final LlamaModel model;
    private final List<Integer> disabledTokens;

    private LlamaCppRunner(LlamaModel model, int vocabulary) {
        this.model = model;
        List<Integer> disabled = new ArrayList<>();
        // <unk>, <s>, </s> and the 256 byte tokens <0x00>..<0xFF> of a Llama SentencePiece vocabulary.
        for (int id = 0; id < Math.min(vocabulary, 259); id++) {
            disabled.add(id);
        }
        this.disabledTokens = List.copyOf(disabled);
    }

    /**
     * Loads the native library and the model.
     *
     * @param batch logical and physical batch size (tokens per forward pass while processing a prompt)
     * <p>Fails with whatever the native side throws ({@link UnsatisfiedLinkError},
     * {@code LlamaException}...); callers record it as the reason llama.cpp was not measured.
     */
    public static LlamaCppRunner load(Path file, int threads, int contextLength, int batch, int vocabulary) {
        ModelParameters p = new ModelParameters()
                .setModel(file.toAbsolutePath().toString())
                .setThreads(threads)
                .setThreadsBatch(threads)
                .setCtxSize(contextLength)
                .setBatchSize(batch)
                .setUbatchSize(batch)
                .setParallel(1)
                .setGpuLayers(0);
        return new LlamaCppRunner(new LlamaModel(p), vocabulary);
    }

    /** Tokens llama.cpp's tokenizer makes of {@code text} (without the BOS the server adds). */
    public int countTokens(String text) {
        return model.encode(text).length;
    }

    /** Median tokens/s of {@code reps} completions of {@code prompt} ({@code promptTokens} tokens) with one predicted token. */
    public double promptThroughput(String prompt, int promptTokens, int reps) {
        double[] rates = new double[reps];
        for (int i = 0; i < reps; i++) {
            InferenceParameters ip = greedy(prompt).setNPredict(1).setCachePrompt(false);
            long t0 = System.nanoTime();
            model.complete(ip);
            rates[i] = promptTokens / ((System.nanoTime() - t0) / 1e9);
        }
        return Stats.median(rates);
    }

    /**
     * A decode measurement: tokens/s over {@code steps} decode steps. Immutable and thread-safe.
     *
     * @param secondsWithoutDecode the time of the single-token request that was subtracted
     */
    public record Decode(double tokensPerSecond, int steps, double secondsWithoutDecode) {
    }

    /**
     * Times {@code steps} decode passes after {@code prompt}: the difference between a completion
     * of {@code steps + 1} tokens and one of a single token, both reusing the prompt's cached K/V
     * (the first request fills it), so neither the prompt nor the request overhead is counted and
     * no per-token call crosses JNI.
     */
    public Decode decode(String prompt, int steps) {
        model.complete(greedy(prompt).setNPredict(1).setCachePrompt(true));
        long t0 = System.nanoTime();
        model.complete(greedy(prompt).setNPredict(1).setCachePrompt(true));
        long single = System.nanoTime() - t0;
        t0 = System.nanoTime();
        model.complete(greedy(prompt).setNPredict(steps + 1).setCachePrompt(true));
        long many = System.nanoTime() - t0;
        return new Decode(steps / ((many - single) / 1e9), steps, single / 1e9);
    }

    private InferenceParameters greedy(String prompt) {
        return new InferenceParameters(prompt)
                .setTemperature(0f)
                .setTopK(1)
                .setIgnoreEos(true)
                .disableTokenIds(disabledTokens);
    }

    @Override
    public void close() {
        model.close();
    }
}
