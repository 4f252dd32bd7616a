/**
 * Vector API ({@code jdk.incubator.vector}) kernels. Classes here are loaded only when
 * {@link io.kvcache.tensor.internal.VectorSupport#ENABLED} is true; nothing outside this package
 * may reference an incubator type.
 */
@NullMarked
package io.kvcache.tensor.internal.vector;

import org.jspecify.annotations.NullMarked;
