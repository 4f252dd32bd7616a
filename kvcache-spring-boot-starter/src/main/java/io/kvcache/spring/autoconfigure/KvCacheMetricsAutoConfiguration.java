package io.kvcache.spring.autoconfigure;

import io.kvcache.cache.KvCache;
import io.kvcache.spring.actuate.KvCacheMeterBinder;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.context.annotation.Bean;

/**
 * The {@link KvCacheMeterBinder} bean, when Micrometer is on the class path and there is one
 * {@link KvCache} bean; Spring Boot binds it to every meter registry. Thread-safe: Spring calls it
 * once during startup.
 */
@AutoConfiguration(after = KvCacheAutoConfiguration.class)
@ConditionalOnClass(MeterBinder.class)
@ConditionalOnSingleCandidate(KvCache.class)
public class KvCacheMetricsAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    KvCacheMeterBinder kvCacheMeterBinder(KvCache cache) {
        return new KvCacheMeterBinder(cache);
    }
}
