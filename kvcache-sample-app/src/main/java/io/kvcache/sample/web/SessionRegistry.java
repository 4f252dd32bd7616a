package io.kvcache.sample.web;

import io.kvcache.inference.Generator;
import io.kvcache.inference.Session;
import io.kvcache.sample.SampleProperties;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * The conversations of {@code POST /api/generate}, by the client's {@code session_id}. Each
 * {@link Session} keeps a cache sequence between turns so a follow-up only computes its new tokens.
 * Bounded: at most {@code sample.sessions.max-sessions}; the least recently used idle session is
 * closed to make room, and a session idle for {@code sample.sessions.idle-timeout} is closed.
 * Closing frees its cache sequence.
 *
 * <p>Thread-safe (one lock; closing a session only takes the cache's lock, never ours).
 */
@Component
public class SessionRegistry implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SessionRegistry.class);
    private static final Pattern VALID_ID = Pattern.compile("[A-Za-z0-9._:-]{1,128}");

    private final Generator generator;
    private final int maxSessions;
    private final long idleTimeoutNanos;
    private final Map<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private boolean closed;

    public SessionRegistry(Generator generator, SampleProperties properties) {
        this.generator = generator;
        this.maxSessions = properties.sessions().maxSessions();
        this.idleTimeoutNanos = properties.sessions().idleTimeout().toNanos();
    }

    private static final class Entry {
        final Session session;
        long lastUsedNanos;
        boolean busy;

        Entry(Session session, long now) {
            this.session = session;
            this.lastUsedNanos = now;
        }
    }

    /** One turn's hold on a session; {@link #release()} when the turn ends. Thread-safe. */
    public final class Lease {
        private final String id;
        private final Entry entry;
        private boolean released;

        private Lease(String id, Entry entry) {
            this.id = id;
            this.entry = entry;
        }

        public Session session() {
            return entry.session;
        }

        public String id() {
            return id;
        }

        /** Marks the turn finished and the session idle from now. Idempotent. */
        public void release() {
            synchronized (SessionRegistry.this) {
                if (!released) {
                    released = true;
                    entry.busy = false;
                    entry.lastUsedNanos = System.nanoTime();
                }
            }
        }
    }

    /**
     * The session with this id for one turn, created if new.
     *
     * @throws ApiException 400 for an invalid id, 409 when the session is in a turn already, 429
     *     when every session slot is in a turn
     */
    public synchronized Lease acquire(String id) {
        if (!VALID_ID.matcher(id).matches()) {
            throw ApiException.invalid("session_id", "session_id must be 1 to 128 characters of letters, digits and "
                    + "._:- ; got \"" + id + "\"");
        }
        if (closed) {
            throw new IllegalStateException("the session registry is closed (the app is shutting down)");
        }
        long now = System.nanoTime();
        expireIdle(now);
        Entry entry = entries.get(id);
        if (entry == null) {
            if (entries.size() >= maxSessions && !evictLeastRecentlyUsedIdle()) {
                throw new ApiException(HttpStatus.TOO_MANY_REQUESTS, ApiError.OVERLOADED, "session_id", "too_many_sessions",
                        "all " + maxSessions + " session slots are generating; retry later, or raise "
                                + "sample.sessions.max-sessions");
            }
            entry = new Entry(generator.newSession(), now);
            entries.put(id, entry);
        }
        if (entry.busy) {
            throw new ApiException(HttpStatus.CONFLICT, ApiError.INVALID_REQUEST, "session_id", "session_busy",
                    "session " + id + " is still generating its previous turn; sessions take one turn at a time, "
                            + "wait for its done event");
        }
        entry.busy = true;
        entry.lastUsedNanos = now;
        return new Lease(id, entry);
    }

    /** Closes a session and frees its cache sequence (after its running turn, if any). */
    public synchronized boolean close(String id) {
        Entry entry = entries.remove(id);
        if (entry == null) {
            return false;
        }
        entry.session.close();
        return true;
    }

    /** Sessions open now. */
    public synchronized int size() {
        return entries.size();
    }

    /** Closes sessions idle for longer than the timeout; runs periodically. */
    @Scheduled(fixedDelayString = "PT10S", initialDelayString = "PT10S")
    public synchronized void expireIdle() {
        expireIdle(System.nanoTime());
    }

    private void expireIdle(long now) {
        for (Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Entry> e = it.next();
            Entry entry = e.getValue();
            if (!entry.busy && now - entry.lastUsedNanos > idleTimeoutNanos) {
                it.remove();
                entry.session.close();
                log.debug("closed idle session {}", e.getKey());
            }
        }
    }

    private boolean evictLeastRecentlyUsedIdle() {
        for (Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Entry> e = it.next();
            if (!e.getValue().busy) {
                it.remove();
                e.getValue().session.close();
                log.debug("closed least recently used session {} to make room", e.getKey());
                return true;
            }
        }
        return false;
    }

    /** Closes every session (on shutdown). */
    @Override
    public synchronized void close() {
        closed = true;
        for (Entry entry : entries.values()) {
            entry.session.close();
        }
        entries.clear();
    }
}
