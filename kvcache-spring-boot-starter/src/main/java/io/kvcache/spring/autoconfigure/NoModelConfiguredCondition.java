package io.kvcache.spring.autoconfigure;

import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.autoconfigure.condition.NoneNestedConditions;

/** Neither {@code kvcache.model.path} nor {@code kvcache.model.url} is set. Stateless and thread-safe. */
class NoModelConfiguredCondition extends NoneNestedConditions {
    NoModelConfiguredCondition() {
        // REGISTER_BEAN: a PARSE_CONFIGURATION condition is not evaluated on @Bean methods.
        super(ConfigurationPhase.REGISTER_BEAN);
    }

    @ConditionalOnProperty(prefix = "kvcache.model", name = "path")
    static final class PathSet {
    }

    @ConditionalOnProperty(prefix = "kvcache.model", name = "url")
    static final class UrlSet {
    }
}
