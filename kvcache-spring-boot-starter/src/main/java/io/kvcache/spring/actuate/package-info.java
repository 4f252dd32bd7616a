/**
 * Production-readiness for a {@code KvCache}: the {@code kvcache} actuator endpoint, a health
 * indicator usable in a readiness group, and a Micrometer {@code MeterBinder} for cache and
 * generation metrics. Every class here needs the optional actuator or Micrometer dependency.
 */
@NullMarked
package io.kvcache.spring.actuate;

import org.jspecify.annotations.NullMarked;
