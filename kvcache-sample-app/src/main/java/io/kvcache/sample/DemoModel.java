package io.kvcache.sample;

/**
 * Present as a bean when the app runs on random demo weights because no model was configured.
 * Immutable and thread-safe.
 *
 * @param notice what to tell users (logged and shown on the page)
 */
public record DemoModel(String notice) {

    /** The warning shown whenever the demo model is in use. */
    public static final String NOTICE = "demo weights: output is random; set kvcache.model.path to a GGUF file";
}
