package io.kvcache.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kvcache.cache.ContextLengthExceededException;
import io.kvcache.cache.KvCache;
import io.kvcache.cache.KvElementType;
import io.kvcache.cache.KvSequence;
import io.kvcache.cache.SequencePreemptedException;
import io.kvcache.gguf.GgmlType;
import io.kvcache.gguf.GgufFile;
import io.kvcache.model.LlamaModel;
import io.kvcache.model.LlamaWeights;
import io.kvcache.model.ModelConfig;
import io.kvcache.model.SyntheticModel;
import io.kvcache.tensor.ComputePool;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link LlamaModel#forwardBatch}: one step over several sequences gives each the logits an
 * unbatched step gives it, and a member that fails (before, during or after the computation)
 * gets its own exception without affecting the others or the cache.
 */
class BatchedForwardTest {
    private static final int VOCAB = 512;
    private static final int CONTEXT = 64;

    private GgufFile file;
    private ComputePool pool;
    private LlamaModel model;
    private KvCache cache;

    @BeforeEach
    void setUp() {
        file = GgufFile.read(SyntheticModel.builder().layers(3).embeddingLength(256).heads(8).kvHeads(2)
                .feedForwardLength(512).vocabularySize(VOCAB).contextLength(CONTEXT).weightType(GgmlType.Q8_0)
                .seed(5).build());
        ModelConfig config = ModelConfig.from(file);
        pool = ComputePool.create(2);
        model = new LlamaModel(config, LlamaWeights.load(file, config), pool);
        cache = KvCache.builder(specFor(config)).maxSequences(32).prefixCaching(false).build();
    }

    private static io.kvcache.cache.KvCacheSpec specFor(ModelConfig c) {
        return io.kvcache.cache.KvCacheSpec.builder().layers(c.layers()).kvHeads(c.kvHeads()).headDim(c.headDim())
                .contextLength(CONTEXT).elementType(KvElementType.F32).build();
    }

    @AfterEach
    void tearDown() {
        cache.close();
        pool.close();
        file.close();
    }

    @Test
    void everyMemberGetsTheLogitsOfAnUnbatchedStep() {
        int members = 5;
        KvSequence[] batched = new KvSequence[members];
        int[][] tokens = new int[members][];
        float[][] logits = new float[members][VOCAB];
        float[][] expected = new float[members][];
        for (int i = 0; i < members; i++) {
            int[] prompt = prompt(3 + 4 * i, 100 + i); // different lengths: different positions per member
            batched[i] = cache.newSequence();
            model.forward(batched[i], prompt, false);
            try (KvSequence alone = cache.newSequence()) {
                model.forward(alone, prompt, false);
                expected[i] = model.forward(alone, new int[] {7 + i}, false);
            }
            tokens[i] = new int[] {7 + i};
        }
        RuntimeException[] failures = new RuntimeException[members];
        model.forwardBatch(members, batched, tokens, logits, failures);
        for (int i = 0; i < members; i++) {
            assertNull(failures[i]);
            assertClose(expected[i], logits[i]);
            assertEquals(3 + 4 * i + 1, batched[i].length());
            assertEquals(7 + i, batched[i].tokens()[batched[i].length() - 1]);
        }
        cache.checkIntegrity();
    }

    @Test
    void failingMembersGetTheirOwnExceptionAndTheOthersTheirLogits() {
        KvSequence good = sequenceWith(prompt(5, 11));
        KvSequence badToken = sequenceWith(prompt(6, 12));
        KvSequence full = sequenceWith(prompt(CONTEXT, 13));
        KvSequence preempted = sequenceWith(prompt(7, 14));
        HookedSequence storeFails = new HookedSequence(sequenceWith(prompt(8, 15)));
        HookedSequence attentionFails = new HookedSequence(sequenceWith(prompt(9, 16)));
        KvSequence alsoGood = sequenceWith(prompt(10, 17));
        IllegalStateException storeFailure = new IllegalStateException("store failed in layer 1");
        storeFails.beforeStore = layer -> {
            if (layer == 1) {
                throw storeFailure;
            }
        };
        IllegalStateException attentionFailure = new IllegalStateException("attention failed in layer 2");
        attentionFails.beforeAttention = layer -> {
            if (layer == 2) {
                throw attentionFailure;
            }
        };
        assertEquals(true, cache.evict(preempted.id()));

        float[] expectedGood = unbatchedNext(prompt(5, 11), 3);
        float[] expectedAlsoGood = unbatchedNext(prompt(10, 17), 4);
        KvSequence[] sequences = {good, badToken, full, preempted, storeFails, attentionFails, alsoGood};
        int[][] tokens = {{3}, {VOCAB + 5}, {1}, {1}, {1}, {1}, {4}};
        float[][] logits = new float[sequences.length][VOCAB];
        RuntimeException[] failures = new RuntimeException[sequences.length];
        model.forwardBatch(sequences.length, sequences, tokens, logits, failures);

        assertNull(failures[0]);
        assertClose(expectedGood, logits[0]);
        assertInstanceOf(IllegalArgumentException.class, failures[1]);
        assertInstanceOf(ContextLengthExceededException.class, failures[2]);
        assertInstanceOf(SequencePreemptedException.class, failures[3]);
        assertSame(storeFailure, failures[4]);
        assertSame(attentionFailure, failures[5]);
        assertNull(failures[6]);
        assertClose(expectedAlsoGood, logits[6]);

        assertEquals(6, good.length());
        assertEquals(11, alsoGood.length());
        assertEquals(6, badToken.length(), "a rejected token must not advance its sequence");
        assertEquals(CONTEXT, full.length());
        assertEquals(8, storeFails.length(), "a member that failed mid-step is not advanced");
        assertEquals(9, attentionFails.length());
        assertEquals(true, preempted.isPreempted());
        cache.checkIntegrity();

        // The failed members are usable afterwards, as after a failed unbatched step.
        storeFails.beforeStore = layer -> { };
        float[] next = model.forward(storeFails, new int[] {1}, false);
        assertEquals(9, storeFails.length());
        assertClose(unbatchedNext(prompt(8, 15), 1), next);
        cache.checkIntegrity();
    }

    @Test
    void aBrokenStepThrowsToTheCaller() {
        HookedSequence broken = new HookedSequence(sequenceWith(prompt(4, 21)));
        KvSequence fine = sequenceWith(prompt(4, 22));
        broken.beforeAttention = layer -> {
            throw new AssertionError("simulated error in layer " + layer);
        };
        RuntimeException[] failures = new RuntimeException[2];
        assertThrows(AssertionError.class, () -> model.forwardBatch(2, new KvSequence[] {fine, broken},
                new int[][] {{1}, {2}}, new float[2][VOCAB], failures));
        // Nothing was committed; the pending reservations are reused by the next step.
        assertEquals(4, fine.length());
        float[] retried = model.forward(fine, new int[] {1}, false);
        assertClose(unbatchedNext(prompt(4, 22), 1), retried);
        cache.checkIntegrity();
    }

    private float[] unbatchedNext(int[] prompt, int token) {
        try (KvSequence s = cache.newSequence()) {
            model.forward(s, prompt, false);
            return model.forward(s, new int[] {token}, false);
        }
    }

    private KvSequence sequenceWith(int[] prompt) {
        KvSequence s = cache.newSequence();
        model.forward(s, prompt, false);
        return s;
    }

    private static int[] prompt(int length, int seed) {
        List<Integer> ids = new ArrayList<>();
        for (int i = 0; i < length; i++) {
            ids.add(3 + (seed * 31 + i * 17) % (VOCAB - 3));
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Batched products may sum in another order than one-vector products (a future GEMM kernel):
     * equal within 1e-4 of the largest logit.
     */
    static void assertClose(float[] expected, float[] actual) {
        float scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-4 * scale, "logit " + i);
        }
    }
}
