package io.kvcache.inference;

import io.kvcache.sampling.SamplerSettings;
import io.kvcache.tokenizer.ChatMessage;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * What to generate: a prompt (text, token ids, or chat messages), sampling settings and stop
 * conditions. Immutable and thread-safe; build with {@link #builder()} or the shortcuts.
 *
 * <pre>{@code
 * GenerationRequest r = GenerationRequest.builder()
 *         .prompt("Once upon a time")
 *         .maxTokens(64)
 *         .sampling(SamplerSettings.builder().temperature(0.7).seed(42L).build())
 *         .stop("\n\n")
 *         .build();
 * }</pre>
 */
public final class GenerationRequest {
    /** Tokens generated when the request does not say. */
    public static final int DEFAULT_MAX_TOKENS = 256;

    private final @Nullable String prompt;
    private final int @Nullable [] promptTokens;
    private final @Nullable List<ChatMessage> messages;
    private final SamplerSettings sampling;
    private final int maxTokens;
    private final List<String> stopStrings;
    private final boolean addSpecialTokens;
    private final boolean parseSpecialTokens;
    private final boolean renderSpecialTokens;

    private GenerationRequest(Builder b) {
        int given = (b.prompt != null ? 1 : 0) + (b.promptTokens != null ? 1 : 0) + (b.messages != null ? 1 : 0);
        if (given != 1) {
            throw new IllegalArgumentException("a generation request needs exactly one of prompt(text), "
                    + "promptTokens(ids) or messages(chat); got " + given);
        }
        if (b.maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1, is " + b.maxTokens);
        }
        for (String s : b.stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
        this.prompt = b.prompt;
        this.promptTokens = b.promptTokens == null ? null : b.promptTokens.clone();
        this.messages = b.messages == null ? null : List.copyOf(b.messages);
        this.sampling = b.sampling;
        this.maxTokens = b.maxTokens;
        this.stopStrings = List.copyOf(b.stopStrings);
        this.addSpecialTokens = b.addSpecialTokens;
        this.parseSpecialTokens = b.parseSpecialTokens != null ? b.parseSpecialTokens : b.messages != null;
        this.renderSpecialTokens = b.renderSpecialTokens;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Greedy generation of up to {@code maxTokens} from a text prompt. */
    public static GenerationRequest greedy(String prompt, int maxTokens) {
        return builder().prompt(prompt).maxTokens(maxTokens).sampling(SamplerSettings.greedy()).build();
    }

    public @Nullable String prompt() {
        return prompt;
    }

    public int @Nullable [] promptTokens() {
        return promptTokens == null ? null : promptTokens.clone();
    }

    public @Nullable List<ChatMessage> messages() {
        return messages;
    }

    public SamplerSettings sampling() {
        return sampling;
    }

    public int maxTokens() {
        return maxTokens;
    }

    public List<String> stopStrings() {
        return stopStrings;
    }

    /** Whether a text prompt gets BOS/EOS as the model asks (chat templates add their own). */
    public boolean addSpecialTokens() {
        return addSpecialTokens;
    }

    /** Whether special-token text in the prompt (e.g. {@code <|im_start|>}) becomes special tokens. */
    public boolean parseSpecialTokens() {
        return parseSpecialTokens;
    }

    /** Whether special tokens the model generates appear in the text. */
    public boolean renderSpecialTokens() {
        return renderSpecialTokens;
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.prompt = prompt;
        b.promptTokens = promptTokens;
        b.messages = messages;
        b.sampling = sampling;
        b.maxTokens = maxTokens;
        b.stopStrings = stopStrings;
        b.addSpecialTokens = addSpecialTokens;
        b.parseSpecialTokens = parseSpecialTokens;
        b.renderSpecialTokens = renderSpecialTokens;
        return b;
    }

    /** Not thread-safe. */
    public static final class Builder {
        private @Nullable String prompt;
        private int @Nullable [] promptTokens;
        private @Nullable List<ChatMessage> messages;
        private SamplerSettings sampling = SamplerSettings.defaults();
        private int maxTokens = DEFAULT_MAX_TOKENS;
        private List<String> stopStrings = List.of();
        private boolean addSpecialTokens = true;
        private @Nullable Boolean parseSpecialTokens;
        private boolean renderSpecialTokens;

        private Builder() {
        }

        public Builder prompt(String text) {
            this.prompt = Objects.requireNonNull(text, "prompt");
            return this;
        }

        public Builder promptTokens(int... ids) {
            this.promptTokens = ids.clone();
            return this;
        }

        public Builder messages(List<ChatMessage> chat) {
            this.messages = List.copyOf(chat);
            return this;
        }

        public Builder sampling(SamplerSettings settings) {
            this.sampling = Objects.requireNonNull(settings, "sampling");
            return this;
        }

        public Builder maxTokens(int n) {
            this.maxTokens = n;
            return this;
        }

        public Builder stop(String... strings) {
            this.stopStrings = List.of(strings);
            return this;
        }

        public Builder stopStrings(List<String> strings) {
            this.stopStrings = List.copyOf(strings);
            return this;
        }

        public Builder addSpecialTokens(boolean add) {
            this.addSpecialTokens = add;
            return this;
        }

        public Builder parseSpecialTokens(boolean parse) {
            this.parseSpecialTokens = parse;
            return this;
        }

        public Builder renderSpecialTokens(boolean render) {
            this.renderSpecialTokens = render;
            return this;
        }

        public GenerationRequest build() {
            return new GenerationRequest(this);
        }
    }
}
