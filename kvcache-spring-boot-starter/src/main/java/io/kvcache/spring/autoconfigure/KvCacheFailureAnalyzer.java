package io.kvcache.spring.autoconfigure;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Explains a {@link KvCacheConfigurationException} at startup: the description says what is wrong
 * (missing or unreadable model file, dimensions that disagree with the model, an impossible budget,
 * a failed download...), the action names the properties to change. Registered in
 * {@code META-INF/spring.factories}. Stateless and thread-safe.
 */
public class KvCacheFailureAnalyzer extends AbstractFailureAnalyzer<KvCacheConfigurationException> {

    @Override
    protected FailureAnalysis analyze(Throwable rootFailure, KvCacheConfigurationException cause) {
        return new FailureAnalysis(cause.description(), cause.action(), cause);
    }
}
