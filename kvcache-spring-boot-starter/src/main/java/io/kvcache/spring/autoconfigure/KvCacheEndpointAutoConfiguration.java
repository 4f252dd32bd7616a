package io.kvcache.spring.autoconfigure;

import io.kvcache.cache.KvCache;
import io.kvcache.spring.actuate.KvCacheEndpoint;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.context.annotation.Bean;

/**
 * The {@code kvcache} actuator endpoint ({@link KvCacheEndpoint}), when Actuator is on the class
 * path, the endpoint is available (exposed and not switched off) and there is one {@link KvCache}
 * bean. Thread-safe: Spring calls it once during startup.
 */
@AutoConfiguration(after = KvCacheAutoConfiguration.class)
@ConditionalOnClass({Endpoint.class, ConditionalOnAvailableEndpoint.class})
@ConditionalOnSingleCandidate(KvCache.class)
public class KvCacheEndpointAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    @ConditionalOnAvailableEndpoint
    KvCacheEndpoint kvCacheEndpoint(KvCache cache) {
        return new KvCacheEndpoint(cache);
    }
}
