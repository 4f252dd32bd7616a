package io.kvcache.cli;

import io.kvcache.cache.KvCache;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.inference.InferenceEngine;
import io.kvcache.sampling.SamplerSettings;
import io.kvcache.tokenizer.ChatMessage;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code kvcache generate MODEL --prompt TEXT}: streams generated text. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a prompt, streaming it as it is produced.")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = {"-p", "--prompt"}, required = true, description = "the prompt text")
    String prompt = "";

    @Option(names = {"-n", "--max-tokens"}, description = "maximum new tokens (default: ${DEFAULT-VALUE})")
    int maxTokens = 256;

    @Option(names = "--temperature", description = "0 for greedy (default: ${DEFAULT-VALUE})")
    float temperature = 0.8f;

    @Option(names = "--top-p", description = "nucleus sampling mass (default: ${DEFAULT-VALUE})")
    float topP = 0.95f;

    @Option(names = "--top-k", description = "keep the k most likely tokens, 0 = off (default: ${DEFAULT-VALUE})")
    int topK = 40;

    @Option(names = "--seed", description = "random seed for reproducible sampling")
    Long seed;

    @Option(names = "--stop", description = "stop string (repeatable)")
    List<String> stop = List.of();

    @Option(names = "--chat", description = "wrap the prompt as a user message in the model's chat template")
    boolean chat;

    @Option(names = "--json", description = "print one JSON object instead of streaming")
    boolean json;

    @CommandLine.Spec
    @SuppressWarnings("NullAway.Init")
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        SamplerSettings sampling = SamplerSettings.builder().temperature(temperature).topP(topP).topK(topK)
                .seed(seed).build();
        try (InferenceEngine engine = model.load(err);
             KvCache cache = KvCache.builder(engine.kvCacheSpec(model.contextFor(engine), model.kvType)).build()) {
            Generator generator = new Generator(engine, cache);
            GenerationRequest.Builder request = GenerationRequest.builder().maxTokens(maxTokens).sampling(sampling)
                    .stopStrings(stop);
            if (chat) {
                request.messages(List.of(new ChatMessage("user", prompt)));
            } else {
                request.prompt(prompt);
            }
            GenerationRequest r = request.build();
            int[] promptTokens = generator.promptTokens(r);
            GenerationResult result;
            if (json) {
                result = generator.generate(r);
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("prompt_tokens", promptTokens);
                m.put("tokens", result.tokens());
                m.put("text", result.text());
                m.put("stop_reason", result.stopReason().name().toLowerCase(java.util.Locale.ROOT));
                m.put("usage", usage(result));
                out.println(Json.write(m));
            } else {
                result = generator.generate(r, token -> {
                    out.print(token.text());
                    out.flush();
                });
                out.println();
                err.printf("[%d prompt tokens, %d generated, %.1f tokens/s, first token after %d ms, stop: %s]%n",
                        result.usage().promptTokens(), result.usage().completionTokens(),
                        result.usage().decodeTokensPerSecond(), result.usage().timeToFirstToken().toMillis(),
                        result.stopReason().name().toLowerCase(java.util.Locale.ROOT));
            }
        }
        return 0;
    }

    private static Map<String, Object> usage(GenerationResult r) {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("prompt_tokens", r.usage().promptTokens());
        u.put("cached_prompt_tokens", r.usage().cachedPromptTokens());
        u.put("completion_tokens", r.usage().completionTokens());
        u.put("time_to_first_token_ms", r.usage().timeToFirstToken().toNanos() / 1e6);
        u.put("tokens_per_second", r.usage().decodeTokensPerSecond());
        return u;
    }
}
