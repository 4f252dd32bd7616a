package io.kvcache.model;

/** How rotary position embedding pairs the dimensions of a head. */
public enum RopeType {
    /** Adjacent pairs (x[2i], x[2i+1]): GGUF {@code llama} (Q/K were permuted at conversion). */
    NORMAL,
    /** Halves (x[i], x[i + d/2]): GPT-NeoX style, used by {@code qwen2}. */
    NEOX
}
