package io.kvcache.tokenizer;

import io.kvcache.gguf.GgufMetadata;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Chat prompt formats, recognised from a model's Jinja template ({@code tokenizer.chat_template})
 * by its marker tokens, and rendered the way llama.cpp's built-in templates render them (no
 * Jinja engine). The rendered text starts without BOS: encode it with {@code addSpecial=true} and
 * {@code parseSpecial=true} so the tokenizer adds BOS and recognises the markers.
 *
 * <p>Enum constants are immutable and thread-safe.
 */
public enum ChatTemplate {

    /**
     * ChatML (SmolLM, Qwen): {@code <|im_start|>role\ncontent<|im_end|>\n}; the generation prompt is
     * {@code <|im_start|>assistant\n}. Also the default for models without a template, as in llama.cpp.
     */
    CHATML("<|im_start|>") {
        @Override
        void render(List<ChatMessage> messages, boolean addGenerationPrompt, StringBuilder out) {
            for (ChatMessage m : messages) {
                out.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
            }
            if (addGenerationPrompt) {
                out.append("<|im_start|>assistant\n");
            }
        }
    },

    /**
     * Llama 3: {@code <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>} with trimmed
     * content; the generation prompt is the assistant header.
     */
    LLAMA3("<|start_header_id|>") {
        @Override
        void render(List<ChatMessage> messages, boolean addGenerationPrompt, StringBuilder out) {
            for (ChatMessage m : messages) {
                out.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
                        .append(m.content().strip()).append("<|eot_id|>");
            }
            if (addGenerationPrompt) {
                out.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
        }
    },

    /**
     * Llama 2 chat: {@code [INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST]assistant</s><s>[INST] ...}
     * with trimmed content (llama.cpp's {@code llama2-sys-bos} variant). The prompt always ends
     * ready for the assistant, so {@code addGenerationPrompt} changes nothing.
     */
    LLAMA2("[INST]") {
        @Override
        void render(List<ChatMessage> messages, boolean addGenerationPrompt, StringBuilder out) {
            boolean insideTurn = true; // the opening BOS comes from the tokenizer
            out.append("[INST] ");
            for (ChatMessage m : messages) {
                String content = m.content().strip();
                if (!insideTurn) {
                    insideTurn = true;
                    out.append("<s>[INST] ");
                }
                switch (m.role()) {
                    case "system" -> out.append("<<SYS>>\n").append(content).append("\n<</SYS>>\n\n");
                    case "user" -> out.append(content).append(" [/INST]");
                    default -> {
                        out.append(content).append("</s>");
                        insideTurn = false;
                    }
                }
            }
        }
    },

    /**
     * Zephyr: {@code <|role|>\ncontent</s>\n}; the generation prompt is {@code <|assistant|>\n}.
     * Templates that also contain {@code <|end|>} (Phi-3) are not Zephyr.
     */
    ZEPHYR("<|user|>") {
        @Override
        boolean matches(String jinjaSource) {
            // Phi-3 templates also use <|user|> but end turns with <|end|>: a different format.
            return super.matches(jinjaSource) && !jinjaSource.contains("<|end|>");
        }

        @Override
        void render(List<ChatMessage> messages, boolean addGenerationPrompt, StringBuilder out) {
            for (ChatMessage m : messages) {
                out.append("<|").append(m.role()).append("|>\n").append(m.content()).append("</s>\n");
            }
            if (addGenerationPrompt) {
                out.append("<|assistant|>\n");
            }
        }
    };

    /** The metadata key holding a model's Jinja chat template. */
    public static final String METADATA_KEY = "tokenizer.chat_template";

    private final String marker;

    ChatTemplate(String marker) {
        this.marker = marker;
    }

    abstract void render(List<ChatMessage> messages, boolean addGenerationPrompt, StringBuilder out);

    boolean matches(String jinjaSource) {
        return jinjaSource.contains(marker);
    }

    /**
     * Renders a conversation.
     *
     * @param addGenerationPrompt end with the opening of an assistant turn, for the model to complete
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder out = new StringBuilder();
        render(List.copyOf(messages), addGenerationPrompt, out);
        return out.toString();
    }

    /** The family whose marker the Jinja source contains, if any (checked in declaration order). */
    public static Optional<ChatTemplate> fromSource(String jinjaSource) {
        return Arrays.stream(values()).filter(t -> t.matches(jinjaSource)).findFirst();
    }

    /**
     * The model's template family; {@link #CHATML} when the model has no template.
     *
     * @throws IllegalArgumentException when the model's template is of no supported family
     */
    public static ChatTemplate detect(GgufMetadata metadata) {
        Optional<String> source = metadata.optionalString(METADATA_KEY);
        if (source.isEmpty()) {
            return CHATML;
        }
        return fromSource(source.get()).orElseThrow(() -> new IllegalArgumentException(
                "the model's chat template (" + METADATA_KEY + ") is of no supported family "
                        + Arrays.toString(values()) + "; pass a fallback to ChatTemplate.detect(metadata, fallback) "
                        + "or render prompts yourself. Template starts: " + abbreviate(source.get())));
    }

    /** The model's template family, {@code fallback} when it is unknown, {@link #CHATML} when absent. */
    public static ChatTemplate detect(GgufMetadata metadata, ChatTemplate fallback) {
        return metadata.optionalString(METADATA_KEY).map(s -> fromSource(s).orElse(fallback)).orElse(CHATML);
    }

    private static String abbreviate(String s) {
        String oneLine = s.replace('\n', ' ');
        return oneLine.length() > 80 ? oneLine.substring(0, 80) + "..." : oneLine;
    }
}
