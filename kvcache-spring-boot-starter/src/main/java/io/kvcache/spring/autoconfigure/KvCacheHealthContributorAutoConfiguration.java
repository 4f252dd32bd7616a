package io.kvcache.spring.autoconfigure;

import io.kvcache.cache.KvCache;
import io.kvcache.spring.actuate.KvCacheHealthIndicator;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * The {@code kvcache} health contributor ({@link KvCacheHealthIndicator}), when Spring Boot's health
 * support is on the class path, {@code management.health.kvcache.enabled} is not false, and there is
 * one {@link KvCache} bean. Thread-safe: Spring calls it once during startup.
 */
@AutoConfiguration(after = KvCacheAutoConfiguration.class)
@ConditionalOnClass({HealthIndicator.class, ConditionalOnEnabledHealthIndicator.class})
@ConditionalOnSingleCandidate(KvCache.class)
@ConditionalOnEnabledHealthIndicator("kvcache")
public class KvCacheHealthContributorAutoConfiguration {

    /** Named so that the contributor is called {@code kvcache}. */
    @Bean
    @ConditionalOnMissingBean(name = "kvcacheHealthIndicator")
    KvCacheHealthIndicator kvcacheHealthIndicator(KvCache cache) {
        return new KvCacheHealthIndicator(cache);
    }
}
