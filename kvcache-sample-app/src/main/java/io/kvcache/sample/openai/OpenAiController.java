package io.kvcache.sample.openai;

import io.kvcache.inference.GenerationEvent;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.GenerationResult;
import io.kvcache.inference.Generator;
import io.kvcache.sample.openai.OpenAiRequests.ChatCompletionRequest;
import io.kvcache.sample.openai.OpenAiRequests.CompletionRequest;
import io.kvcache.sample.openai.OpenAiRequests.Message;
import io.kvcache.sample.openai.OpenAiResponses.AssistantMessage;
import io.kvcache.sample.openai.OpenAiResponses.ChatChoice;
import io.kvcache.sample.openai.OpenAiResponses.ChatCompletion;
import io.kvcache.sample.openai.OpenAiResponses.Completion;
import io.kvcache.sample.openai.OpenAiResponses.CompletionChoice;
import io.kvcache.sample.openai.OpenAiResponses.ModelCard;
import io.kvcache.sample.openai.OpenAiResponses.ModelList;
import io.kvcache.sample.openai.OpenAiResponses.OpenAiUsage;
import io.kvcache.sample.web.ApiError;
import io.kvcache.sample.web.ApiException;
import io.kvcache.sample.web.GenerationRequests;
import io.kvcache.sample.web.GenerationStreams;
import io.kvcache.sample.web.JsonResponseFormat;
import io.kvcache.sample.web.RequestLimits;
import io.kvcache.sample.web.StreamFormat;
import io.kvcache.tokenizer.ChatMessage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * OpenAI-compatible API over the app's one model, so that OpenAI clients (the official SDKs,
 * Spring AI, LangChain4j, curl scripts) work unchanged with {@code base_url = http://host:8080/v1}
 * and any API key. Streaming follows OpenAI's chunk format; errors use OpenAI's error JSON (see
 * {@link ApiError}). The {@code model} field is accepted and ignored: there is one model. Thread-safe.
 */
@RestController
@RequestMapping("/v1")
class OpenAiController {
    private final Generator generator;
    private final GenerationRequests requests;
    private final GenerationStreams streams;
    private final JsonMapper json;
    private final RequestLimits limits;
    private final String modelId;
    private final long startedAt = Instant.now().getEpochSecond();

    OpenAiController(Generator generator, GenerationRequests requests, GenerationStreams streams, JsonMapper json,
            RequestLimits limits) {
        this.limits = limits;
        this.generator = generator;
        this.requests = requests;
        this.streams = streams;
        this.json = json;
        this.modelId = generator.engine().config().name();
    }

    @GetMapping("/models")
    ModelList models() {
        return new ModelList("list", List.of(new ModelCard(modelId, "model", startedAt, "kvcache")));
    }

    /** A {@link ChatCompletion}, or an event stream when {@code stream} is true. */
    @PostMapping(path = "/chat/completions", consumes = MediaType.APPLICATION_JSON_VALUE)
    Object chatCompletions(@RequestBody ChatCompletionRequest body) {
        requireSingleChoice(body.n());
        if (body.tools() != null && !body.tools().isNull() && !body.tools().isEmpty()) {
            throw ApiException.invalid("tools", "tools (function calling) are not supported by this server; "
                    + "leave tools out");
        }
        GenerationRequest request = requests.builder(body.options()).messages(messages(body.messages())).build();
        String id = newId("chatcmpl-");
        long created = Instant.now().getEpochSecond();
        if (Boolean.TRUE.equals(body.stream())) {
            boolean usage = body.streamOptions() != null && Boolean.TRUE.equals(body.streamOptions().includeUsage());
            return stream("chat", request, new OpenAiStreamFormats.Chat(json, id, created, modelId, usage), "messages");
        }
        return stream("chat", request, json(r -> new ChatCompletion(id, "chat.completion", created, modelId,
                List.of(new ChatChoice(0, new AssistantMessage("assistant", r.text()), null,
                        GenerationRequests.finishReason(r.stopReason()))),
                OpenAiUsage.of(r.usage()))), "messages");
    }

    /** A {@link Completion}, or an event stream when {@code stream} is true. */
    @PostMapping(path = "/completions", consumes = MediaType.APPLICATION_JSON_VALUE)
    Object completions(@RequestBody CompletionRequest body) {
        requireSingleChoice(body.n());
        if (Boolean.TRUE.equals(body.echo())) {
            throw ApiException.invalid("echo", "echo is not supported by this server; leave it out or set it to false");
        }
        GenerationRequest.Builder builder = requests.builder(body.options());
        prompt(body.prompt(), builder);
        GenerationRequest request = builder.build();
        String id = newId("cmpl-");
        long created = Instant.now().getEpochSecond();
        if (Boolean.TRUE.equals(body.stream())) {
            boolean usage = body.streamOptions() != null && Boolean.TRUE.equals(body.streamOptions().includeUsage());
            return stream("completions", request, new OpenAiStreamFormats.Text(json, id, created, modelId, usage),
                    "prompt");
        }
        return stream("completions", request, json(r -> new Completion(id, "text_completion", created, modelId,
                List.of(new CompletionChoice(r.text(), 0, null, GenerationRequests.finishReason(r.stopReason()))),
                OpenAiUsage.of(r.usage()))), "prompt");
    }

    private Object stream(String api, GenerationRequest request, StreamFormat format, String promptParam) {
        limits.check(request, promptParam);
        Runnable permit = limits.admit();
        Flow.Publisher<GenerationEvent> publisher;
        try {
            publisher = generator.publisher(request);
        } catch (RuntimeException e) {
            permit.run();
            throw e;
        }
        return streams.open(api, publisher, format, promptParam, permit);
    }

    /**
     * The non-streaming response: one JSON document written through the same stream as a streamed
     * one, so that a client that disconnects cancels its generation (a blocking call would decode
     * up to {@code max_tokens} for nobody); see {@link JsonResponseFormat}.
     */
    private <T> StreamFormat json(Function<GenerationResult, T> body) {
        return new JsonResponseFormat<>(json, body, streams.disconnectProbeInterval());
    }

    private static void requireSingleChoice(@Nullable Integer n) {
        if (n != null && n != 1) {
            throw ApiException.invalid("n", "only n = 1 is supported, got " + n + "; send n separate requests instead");
        }
    }

    static List<ChatMessage> messages(@Nullable List<Message> messages) {
        if (messages == null || messages.isEmpty()) {
            throw ApiException.invalid("messages", "messages is required and must not be empty");
        }
        List<ChatMessage> result = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            String param = "messages[" + i + "]";
            if (m == null || m.role() == null || m.role().isBlank()) {
                throw ApiException.invalid(param + ".role", param + ".role is required (system, user or assistant)");
            }
            result.add(new ChatMessage(m.role(), content(m.content(), param + ".content")));
        }
        return result;
    }

    /** A message's content: a string, null (e.g. an assistant turn that called tools), or text parts. */
    private static String content(@Nullable JsonNode content, String param) {
        if (content == null || content.isNull() || content.isMissingNode()) {
            return "";
        }
        if (content.isString()) {
            return content.asString();
        }
        if (content.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : content) {
                JsonNode type = part.get("type");
                JsonNode text = part.get("text");
                if (type == null || !"text".equals(type.asString()) || text == null || !text.isString()) {
                    throw ApiException.invalid(param, param + " parts must be {\"type\": \"text\", \"text\": \"...\"}; "
                            + "this server reads text only, got " + part);
                }
                sb.append(text.asString());
            }
            return sb.toString();
        }
        throw ApiException.invalid(param, param + " must be a string or a list of text parts, got " + content);
    }

    /** The legacy prompt: a string, a list holding one string, or a list of token ids. */
    private void prompt(@Nullable JsonNode prompt, GenerationRequest.Builder builder) {
        if (prompt == null || prompt.isNull() || prompt.isMissingNode()) {
            throw ApiException.invalid("prompt", "prompt is required: a string, or a list of token ids");
        }
        if (prompt.isString()) {
            builder.prompt(prompt.asString());
            return;
        }
        if (prompt.isArray() && prompt.size() == 1 && prompt.get(0).isString()) {
            builder.prompt(prompt.get(0).asString());
            return;
        }
        if (prompt.isArray() && !prompt.isEmpty()) {
            int vocabulary = generator.engine().config().vocabularySize();
            int[] ids = new int[prompt.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode id = prompt.get(i);
                if (!id.isInt() || id.asInt() < 0 || id.asInt() >= vocabulary) {
                    throw ApiException.invalid("prompt", "a token-id prompt holds integers in [0, " + vocabulary
                            + "); item " + i + " is " + id + " (several prompts at once are not supported)");
                }
                ids[i] = id.asInt();
            }
            builder.promptTokens(ids);
            return;
        }
        throw ApiException.invalid("prompt", "prompt must be a string, a list of one string, or a list of token ids; got "
                + prompt);
    }

    private static String newId(String prefix) {
        byte[] random = new byte[12];
        ThreadLocalRandom.current().nextBytes(random);
        return prefix + HexFormat.of().formatHex(random);
    }
}
