/**
 * HTTP layer shared by the app's APIs: streaming a generation as Server-Sent Events with
 * cancellation on disconnect, the {@code /api/*} endpoints, conversation sessions, and error
 * mapping to OpenAI's error shape.
 */
@NullMarked
package io.kvcache.sample.web;

import org.jspecify.annotations.NullMarked;
