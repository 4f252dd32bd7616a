package io.kvcache.inference;

import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A cold, single-subscriber publisher: generation starts when a subscriber subscribes and runs on
 * its own virtual thread, producing the next token only when the subscriber has demand. Cancelling
 * the subscription stops decoding at the next step and releases the sequence. A second subscriber
 * is refused with {@code onError(IllegalStateException)}.
 */
final class GenerationPublisher implements Flow.Publisher<GenerationEvent> {
    private final Supplier<DecodeLoop> start;
    private final AtomicBoolean subscribed = new AtomicBoolean();

    GenerationPublisher(Supplier<DecodeLoop> start) {
        this.start = start;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super GenerationEvent> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        if (!subscribed.compareAndSet(false, true)) {
            subscriber.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                }

                @Override
                public void cancel() {
                }
            });
            subscriber.onError(new IllegalStateException("a generation can be subscribed to once; "
                    + "call publisher(request) again for another run"));
            return;
        }
        Subscription s = new Subscription(subscriber);
        subscriber.onSubscribe(s);
        Thread.ofVirtual().name("kvcache-generation").start(s::run);
    }

    private final class Subscription implements Flow.Subscription {
        private final Flow.Subscriber<? super GenerationEvent> subscriber;
        private final ReentrantLock lock = new ReentrantLock();
        private final Condition demandChanged = lock.newCondition();
        private long demand;
        private boolean cancelled;
        private long invalidRequest;
        private volatile @Nullable DecodeLoop loop;

        Subscription(Flow.Subscriber<? super GenerationEvent> subscriber) {
            this.subscriber = subscriber;
        }

        @Override
        public void request(long n) {
            lock.lock();
            try {
                if (n <= 0) {
                    invalidRequest = n;
                    cancelled = true;
                } else {
                    demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
                }
                demandChanged.signalAll();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void cancel() {
            lock.lock();
            try {
                cancelled = true;
                demandChanged.signalAll();
            } finally {
                lock.unlock();
            }
            DecodeLoop l = loop;
            if (l != null) {
                l.cancel();
            }
        }

        void run() {
            DecodeLoop l;
            try {
                l = start.get();
            } catch (RuntimeException | Error e) {
                subscriber.onError(e);
                return;
            }
            loop = l;
            try {
                while (true) {
                    if (!awaitDemand()) {
                        l.abandon();
                        if (invalidRequest != 0) {
                            subscriber.onError(new IllegalArgumentException(
                                    "Flow rule 3.9: request(n) needs n > 0, got " + invalidRequest));
                        }
                        return;
                    }
                    GenerationEvent e = l.next();
                    if (e == null) {
                        subscriber.onComplete();
                        return;
                    }
                    if (isCancelled() && e instanceof GenerationResult) {
                        return;
                    }
                    subscriber.onNext(e);
                    if (e instanceof GenerationResult) {
                        subscriber.onComplete();
                        return;
                    }
                }
            } catch (RuntimeException | Error e) {
                l.abandon();
                if (!isCancelled()) {
                    subscriber.onError(e);
                }
            }
        }

        /** Waits for demand; false when cancelled. Consumes one unit of demand. */
        private boolean awaitDemand() {
            lock.lock();
            try {
                while (demand == 0 && !cancelled) {
                    demandChanged.awaitUninterruptibly();
                }
                if (cancelled) {
                    return false;
                }
                if (demand != Long.MAX_VALUE) {
                    demand--;
                }
                return true;
            } finally {
                lock.unlock();
            }
        }

        private boolean isCancelled() {
            lock.lock();
            try {
                return cancelled;
            } finally {
                lock.unlock();
            }
        }
    }
}
