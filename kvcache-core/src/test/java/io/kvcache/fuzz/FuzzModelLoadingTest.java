package io.kvcache.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Coverage-guided fuzzing of the GGUF reader, model loader, tokenizer factory and one forward
 * pass with Jazzer; see {@link ModelLoadingTarget} for the contract checked.
 *
 * <p>Without {@code JAZZER_FUZZ} (the default surefire run) this replays the seed corpus and every
 * kept crash input in {@code src/test/resources/io/kvcache/fuzz/FuzzModelLoadingTestInputs/gguf/}.
 * The build's {@code fuzz} surefire execution sets {@code JAZZER_FUZZ=1} and fuzzes for
 * {@code kvcache.fuzz.seconds} (25 s by default; {@code -Dkvcache.fuzz.seconds=1800} for a long
 * run). Each input must finish within libFuzzer's {@code -timeout} (10 s, set by the build): a hang
 * is a finding.
 */
class FuzzModelLoadingTest {

    @FuzzTest(maxDuration = "25s")
    void gguf(byte[] data) {
        ModelLoadingTarget.run(data);
    }
}
