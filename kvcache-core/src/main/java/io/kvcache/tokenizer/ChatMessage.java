package io.kvcache.tokenizer;

import java.util.Objects;

/**
 * One turn of a conversation. Immutable and thread-safe.
 *
 * @param role {@code system}, {@code user} or {@code assistant} (other roles are rendered as given
 *     by templates that allow them)
 * @param content the message text
 */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        if (role.isBlank()) {
            throw new IllegalArgumentException("chat message role is blank; use \"system\", \"user\" or \"assistant\"");
        }
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}
