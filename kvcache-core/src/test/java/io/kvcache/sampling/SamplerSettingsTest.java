package io.kvcache.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SamplerSettingsTest {

    @Test
    void defaultsAreLlamaCpps() {
        SamplerSettings d = SamplerSettings.defaults();
        assertEquals(0.8f, d.temperature());
        assertEquals(40, d.topK());
        assertEquals(0.95f, d.topP());
        assertEquals(0.05f, d.minP());
        assertEquals(1.0f, d.repetitionPenalty());
        assertEquals(0f, d.frequencyPenalty());
        assertEquals(0f, d.presencePenalty());
        assertEquals(64, d.penaltyLastN());
        assertNull(d.seed());
        assertFalse(d.isGreedy());
        assertFalse(d.hasPenalties());
        assertTrue(SamplerSettings.greedy().isGreedy());
    }

    @Test
    void builderRoundTrips() {
        SamplerSettings s = SamplerSettings.builder().temperature(0.3f).topK(7).topP(0.5f).minP(0.1f)
                .repetitionPenalty(1.1f).frequencyPenalty(0.2f).presencePenalty(0.3f).penaltyLastN(8).seed(5L).build();
        assertEquals(s, s.toBuilder().build());
        assertEquals(5L, s.seed());
        assertTrue(s.hasPenalties());
        assertEquals(0.7f, s.toBuilder().temperature(0.7f).build().temperature());
    }

    @Test
    void validationNamesTheSettingAndItsRange() {
        assertMessage("temperature must be finite and >= 0 (0 = greedy), got -1.0",
                SamplerSettings.builder().temperature(-1));
        assertMessage("temperature must be finite and >= 0 (0 = greedy), got NaN",
                SamplerSettings.builder().temperature(Float.NaN));
        assertMessage("topK must be >= 0 (0 = disabled), got -3", SamplerSettings.builder().topK(-3));
        assertMessage("topP must be in (0, 1] (1 = disabled), got 0.0", SamplerSettings.builder().topP(0));
        assertMessage("topP must be in (0, 1] (1 = disabled), got 1.5", SamplerSettings.builder().topP(1.5f));
        assertMessage("minP must be in [0, 1] (0 = disabled), got -0.1", SamplerSettings.builder().minP(-0.1f));
        assertMessage("repetitionPenalty must be finite and > 0 (1 = disabled), got 0.0",
                SamplerSettings.builder().repetitionPenalty(0));
        assertMessage("frequencyPenalty must be finite (0 = disabled), got Infinity",
                SamplerSettings.builder().frequencyPenalty(Float.POSITIVE_INFINITY));
        assertMessage("presencePenalty must be finite (0 = disabled), got NaN",
                SamplerSettings.builder().presencePenalty(Float.NaN));
        assertMessage("penaltyLastN must be >= 0 (0 = no penalties), got -1", SamplerSettings.builder().penaltyLastN(-1));
    }

    private static void assertMessage(String expected, SamplerSettings.Builder builder) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
        assertEquals(expected, e.getMessage());
    }
}
