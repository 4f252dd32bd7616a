package io.kvcache.bench.jmh;

/** JVM flags every benchmark fork needs: the Vector API module and native access for mapped files. Constants only. */
public final class JvmFlags {
    public static final String VECTOR = "--add-modules=jdk.incubator.vector";
    public static final String NATIVE = "--enable-native-access=ALL-UNNAMED";

    private JvmFlags() {
    }
}
