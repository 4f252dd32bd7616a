/** OpenAI-compatible endpoints: {@code /v1/chat/completions}, {@code /v1/completions}, {@code /v1/models}. */
@NullMarked
package io.kvcache.sample.openai;

import org.jspecify.annotations.NullMarked;
