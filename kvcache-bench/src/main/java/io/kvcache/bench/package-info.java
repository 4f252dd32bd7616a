/** End-to-end benchmark of kvcache against llama.cpp: models, measurements, result files. */
@NullMarked
package io.kvcache.bench;

import org.jspecify.annotations.NullMarked;
