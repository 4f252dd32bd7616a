package io.kvcache.cache.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class UseGuardTest {

    @Test
    void readersShareWritersExcludeAndPreemptionIsWaitedFor() throws Exception {
        UseGuard guard = new UseGuard();
        assertTrue(guard.enterRead());
        assertTrue(guard.enterRead());
        assertFalse(guard.enterWrite(), "a writer while readers are inside is misuse");
        assertFalse(guard.tryEnterPreempting(), "a sequence in use is never preempted");
        guard.exitRead();
        guard.exitRead();
        assertTrue(guard.enterWrite());
        assertFalse(guard.enterRead());
        assertFalse(guard.enterWrite());
        guard.exitWrite();

        assertTrue(guard.tryEnterPreempting());
        CompletableFuture<Boolean> writer = CompletableFuture.supplyAsync(guard::enterWrite);
        Thread.sleep(50);
        assertFalse(writer.isDone(), "the owner waits while the pool preempts");
        guard.exitPreempting();
        assertTrue(writer.get(10, TimeUnit.SECONDS), "and then proceeds: no false misuse report");
        guard.exitWrite();
        assertTrue(guard.tryEnterPreempting());
        CompletableFuture<Boolean> reader = CompletableFuture.supplyAsync(guard::enterRead);
        Thread.sleep(50);
        assertFalse(reader.isDone());
        guard.exitPreempting();
        assertTrue(reader.get(10, TimeUnit.SECONDS));
    }
}
