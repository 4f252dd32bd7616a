package io.kvcache.cache.internal;

import java.util.BitSet;
import java.util.function.IntPredicate;

/** Recomputes block references from a block table for integrity checks. Stateless and thread-safe. */
public final class BlockTableAudit {
    private BlockTableAudit() {
    }

    /**
     * Adds the table's references to {@code refs} after checking that indices below
     * {@code requiredBlocks} hold a block unless {@code mayBeMissing} allows it, that no block is
     * held past them and that no block appears twice.
     *
     * @throws IllegalStateException naming {@code owner} and the first violation
     */
    public static void count(String owner, int[] table, int requiredBlocks, IntPredicate mayBeMissing, int[] refs) {
        BitSet seen = new BitSet();
        for (int idx = 0; idx < table.length; idx++) {
            int block = table[idx];
            if (block < 0) {
                if (idx < requiredBlocks && !mayBeMissing.test(idx)) {
                    throw new IllegalStateException(owner + " lacks a block for index " + idx);
                }
            } else if (idx >= requiredBlocks) {
                throw new IllegalStateException(owner + " holds block " + block + " past its reserved end");
            } else if (seen.get(block)) {
                throw new IllegalStateException(owner + " references block " + block + " twice");
            } else {
                seen.set(block);
                refs[block]++;
            }
        }
    }
}
