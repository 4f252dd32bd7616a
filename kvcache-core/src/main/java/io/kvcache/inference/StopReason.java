package io.kvcache.inference;

/** Why a generation ended. */
public enum StopReason {
    /** The model produced an end-of-generation token (EOS, EOT, ...). */
    END_OF_GENERATION,
    /** The text reached one of the request's stop strings (also when split across tokens). */
    STOP_STRING,
    /** The request's maximum number of new tokens was produced. */
    MAX_TOKENS,
    /** The sequence reached the cache's context length. */
    CONTEXT_FULL,
    /** The consumer cancelled (cancelled subscription, closed stream, {@link Generation#cancel()}). */
    CANCELLED
}
