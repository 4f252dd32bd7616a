package io.kvcache.inference;

/**
 * One generated token. Immutable and thread-safe.
 *
 * <p>Streaming hands one event (and its text) to the consumer per token, so these are the
 * allocations a steady generation makes per token: the forward pass itself allocates nothing
 * (the decode loop reuses its logits buffer and token array).
 *
 * @param index 0 for the first generated token
 * @param tokenId vocabulary id
 * @param text the text this token completes: may be empty when the token holds part of a
 *     multi-byte character or may start a stop string (the text is then released with a later token)
 * @param logProbability natural log of the probability the sampler gave this token
 */
public record TokenEvent(int index, int tokenId, String text, double logProbability) implements GenerationEvent {
}
