package io.kvcache.spring.actuate;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;

/** A minimal application for the web integration tests: everything comes from auto-configuration. */
@SpringBootConfiguration
@EnableAutoConfiguration
class TestApplication {
}
