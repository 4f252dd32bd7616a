package io.kvcache.spring.autoconfigure;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.context.annotation.Conditional;

/**
 * Matches when neither {@code kvcache.model.path} nor {@code kvcache.model.url} is set: for an
 * application's fallback {@code InferenceEngine} bean (e.g. a demo model) that must give way when the
 * user configures a real model.
 *
 * <pre>{@code
 * @Bean(destroyMethod = "close")
 * @ConditionalOnNoKvCacheModel
 * InferenceEngine demoEngine() { ... }
 * }</pre>
 * The starter then builds its {@code KvCache} and {@code Generator} from that bean. The condition is
 * stateless and thread-safe.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.TYPE, ElementType.METHOD})
@Documented
@Conditional(NoModelConfiguredCondition.class)
public @interface ConditionalOnNoKvCacheModel {
}
