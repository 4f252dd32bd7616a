/**
 * The {@code kvcache} command line: {@code info}, {@code tokenize}, {@code generate} and
 * {@code logits}. Errors print one line to stderr and exit non-zero.
 */
@NullMarked
package io.kvcache.cli;

import org.jspecify.annotations.NullMarked;
