package io.kvcache.sample.web;

import io.kvcache.inference.GenerationEvent;
import io.kvcache.inference.GenerationRequest;
import io.kvcache.inference.Generator;
import java.util.concurrent.Flow;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.ResponseBodyEmitter;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /api/generate}: streams a generation as Server-Sent Events (see {@link ApiStreamFormat}).
 * With a {@code session_id} the request is the next turn of that conversation and reuses its cache.
 * {@code DELETE /api/sessions/{id}} ends a conversation. Thread-safe.
 */
@RestController
@RequestMapping("/api")
class GenerateController {
    private final Generator generator;
    private final GenerationRequests requests;
    private final SessionRegistry sessions;
    private final GenerationStreams streams;
    private final JsonMapper json;
    private final RequestLimits limits;

    GenerateController(Generator generator, GenerationRequests requests, SessionRegistry sessions,
            GenerationStreams streams, JsonMapper json, RequestLimits limits) {
        this.limits = limits;
        this.generator = generator;
        this.requests = requests;
        this.sessions = sessions;
        this.streams = streams;
        this.json = json;
    }

    @PostMapping(path = "/generate", consumes = MediaType.APPLICATION_JSON_VALUE)
    ResponseBodyEmitter generate(@RequestBody GenerateBody body) {
        String prompt = body.prompt();
        if (prompt == null) {
            throw ApiException.invalid("prompt", "prompt is required: give the text to continue");
        }
        GenerationRequest request = requests.builder(body.options()).prompt(prompt).build();
        limits.check(request, "prompt");
        Runnable permit = limits.admit();
        Flow.Publisher<GenerationEvent> publisher;
        Runnable onEnd;
        try {
            if (body.sessionId() == null) {
                publisher = generator.publisher(request);
                onEnd = permit;
            } else {
                SessionRegistry.Lease lease = sessions.acquire(body.sessionId());
                try {
                    publisher = lease.session().publisher(request);
                } catch (RuntimeException e) {
                    lease.release();
                    throw e;
                }
                onEnd = () -> {
                    permit.run();
                    lease.release();
                };
            }
        } catch (RuntimeException e) {
            permit.run();
            throw e;
        }
        return streams.open("generate", publisher, new ApiStreamFormat(json, body.sessionId()), "prompt", onEnd);
    }

    @DeleteMapping("/sessions/{id}")
    ResponseEntity<Void> endSession(@PathVariable("id") String id) {
        return sessions.close(id) ? ResponseEntity.noContent().build() : ResponseEntity.notFound().build();
    }
}
