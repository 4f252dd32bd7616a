package io.kvcache.sample.openai;

import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.TokenEvent;
import io.kvcache.sample.openai.OpenAiResponses.ChatCompletionChunk;
import io.kvcache.sample.openai.OpenAiResponses.ChunkChoice;
import io.kvcache.sample.openai.OpenAiResponses.Completion;
import io.kvcache.sample.openai.OpenAiResponses.CompletionChoice;
import io.kvcache.sample.openai.OpenAiResponses.Delta;
import io.kvcache.sample.openai.OpenAiResponses.OpenAiUsage;
import io.kvcache.sample.web.ApiError;
import io.kvcache.sample.web.GenerationRequests;
import io.kvcache.sample.web.StreamFormat;
import java.util.List;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

/**
 * OpenAI's streaming formats: {@code data: {chunk}} events, the finish reason in the last choice
 * chunk, then (with {@code stream_options.include_usage}) a chunk with empty choices and the usage,
 * then {@code data: [DONE]}. A failure after streaming began is sent as {@code data: {"error": ...}}.
 * Not thread-safe (one per stream).
 */
final class OpenAiStreamFormats {
    private static final String DONE = StreamFormat.event(null, "[DONE]");

    private OpenAiStreamFormats() {
    }

    /** Chunks of {@code /v1/chat/completions}; the first carries {@code role: assistant}. */
    static final class Chat implements StreamFormat {
        private final JsonMapper json;
        private final String id;
        private final long created;
        private final String model;
        private final boolean includeUsage;
        private boolean roleSent;

        Chat(JsonMapper json, String id, long created, String model, boolean includeUsage) {
            this.json = json;
            this.id = id;
            this.created = created;
            this.model = model;
            this.includeUsage = includeUsage;
        }

        @Override
        public String token(TokenEvent token) {
            String role = roleChunk();
            return token.text().isEmpty() ? role : role + chunk(new Delta(null, token.text()), null);
        }

        @Override
        public String result(GenerationResult result) {
            StringBuilder sb = new StringBuilder(roleChunk());
            sb.append(chunk(new Delta(null, null), GenerationRequests.finishReason(result.stopReason())));
            if (includeUsage) {
                sb.append(StreamFormat.event(null, json.writeValueAsString(new ChatCompletionChunk(id,
                        "chat.completion.chunk", created, model, List.of(), OpenAiUsage.of(result.usage())))));
            }
            return sb.append(DONE).toString();
        }

        @Override
        public String error(ApiError error) {
            return StreamFormat.event(null, json.writeValueAsString(error.response()));
        }

        private String roleChunk() {
            if (roleSent) {
                return "";
            }
            roleSent = true;
            return chunk(new Delta("assistant", ""), null);
        }

        private String chunk(Delta delta, @Nullable String finishReason) {
            return StreamFormat.event(null, json.writeValueAsString(new ChatCompletionChunk(id, "chat.completion.chunk",
                    created, model, List.of(new ChunkChoice(0, delta, null, finishReason)), null)));
        }
    }

    /** Chunks of {@code /v1/completions}. */
    static final class Text implements StreamFormat {
        private final JsonMapper json;
        private final String id;
        private final long created;
        private final String model;
        private final boolean includeUsage;

        Text(JsonMapper json, String id, long created, String model, boolean includeUsage) {
            this.json = json;
            this.id = id;
            this.created = created;
            this.model = model;
            this.includeUsage = includeUsage;
        }

        @Override
        public String token(TokenEvent token) {
            return token.text().isEmpty() ? "" : chunk(token.text(), null);
        }

        @Override
        public String result(GenerationResult result) {
            StringBuilder sb = new StringBuilder(chunk("", GenerationRequests.finishReason(result.stopReason())));
            if (includeUsage) {
                sb.append(StreamFormat.event(null, json.writeValueAsString(new Completion(id, "text_completion", created,
                        model, List.of(), OpenAiUsage.of(result.usage())))));
            }
            return sb.append(DONE).toString();
        }

        @Override
        public String error(ApiError error) {
            return StreamFormat.event(null, json.writeValueAsString(error.response()));
        }

        private String chunk(String text, @Nullable String finishReason) {
            return StreamFormat.event(null, json.writeValueAsString(new Completion(id, "text_completion", created, model,
                    List.of(new CompletionChoice(text, 0, null, finishReason)), null)));
        }
    }
}
