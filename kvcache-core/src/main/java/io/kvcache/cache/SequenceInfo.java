package io.kvcache.cache;

import java.time.Duration;

/**
 * A snapshot of one live sequence. Immutable and thread-safe.
 *
 * @param id the sequence id
 * @param tokens committed positions
 * @param blocks blocks in its block table
 * @param sharedBlocks of those, blocks also referenced by another sequence (forks, prefix hits)
 * @param age time since the sequence was opened
 */
public record SequenceInfo(long id, int tokens, int blocks, int sharedBlocks, Duration age) {
}
