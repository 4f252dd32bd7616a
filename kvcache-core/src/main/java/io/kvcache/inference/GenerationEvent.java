package io.kvcache.inference;

/**
 * What a generation publishes: one {@link TokenEvent} per generated token, then exactly one
 * {@link GenerationResult}. In Kotlin: {@code when (event) { is TokenEvent -> ...; is
 * GenerationResult -> ... }}.
 */
public sealed interface GenerationEvent permits TokenEvent, GenerationResult {
}
