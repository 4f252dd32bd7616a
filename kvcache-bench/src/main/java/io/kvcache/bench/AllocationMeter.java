package io.kvcache.bench;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;

/**
 * Bytes allocated by all threads of this JVM and garbage collections, between two points in time.
 * Uses HotSpot's {@code com.sun.management.ThreadMXBean}; reports -1 where it is not available.
 * Not thread-safe; measure one section at a time.
 */
final class AllocationMeter {
    private final com.sun.management.@org.jspecify.annotations.Nullable ThreadMXBean threads;
    private long startBytes;
    private long startCollections;
    private long startCollectionMillis;

    AllocationMeter() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        com.sun.management.ThreadMXBean hotspot = null;
        if (bean instanceof com.sun.management.ThreadMXBean h && h.isThreadAllocatedMemorySupported()) {
            h.setThreadAllocatedMemoryEnabled(true);
            hotspot = h;
        }
        this.threads = hotspot;
    }

    void start() {
        startBytes = allocated();
        startCollections = collections();
        startCollectionMillis = collectionMillis();
    }

    /** Bytes allocated since {@link #start()} by every live thread, or -1. */
    long allocatedBytes() {
        long now = allocated();
        return now < 0 || startBytes < 0 ? -1 : now - startBytes;
    }

    long collections() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionCount());
        }
        return n;
    }

    long collectionsSinceStart() {
        return collections() - startCollections;
    }

    long collectionMillisSinceStart() {
        return collectionMillis() - startCollectionMillis;
    }

    private static long collectionMillis() {
        long n = 0;
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, gc.getCollectionTime());
        }
        return n;
    }

    private long allocated() {
        return threads == null ? -1 : threads.getTotalThreadAllocatedBytes();
    }
}
