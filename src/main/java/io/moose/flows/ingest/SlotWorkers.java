package io.moose.flows.ingest;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A writer's slots (one producer each) and a thread per slot, so that each producer is used by one
 * thread at a time. Requests wait in the writer's own queue; {@link #signal()} makes sure a thread
 * drains it, starting one only while fewer than all of them are draining (a request does not cost
 * a task of its own: under load the draining threads take it with the next group).
 */
final class SlotWorkers<S> {

    private final BlockingQueue<S> idle;
    private final ExecutorService threads;
    private final int size;
    private final Consumer<S> drain;
    private final BooleanSupplier queued;
    private final AtomicInteger draining = new AtomicInteger();

    /**
     * @param drain  takes waiting requests on the slot it is given until none wait
     * @param queued whether a request waits (looked at after a drain ends: one may have come in meanwhile)
     */
    SlotWorkers(List<S> slots, String threadName, Consumer<S> drain, BooleanSupplier queued) {
        this.size = slots.size();
        this.idle = new ArrayBlockingQueue<>(size, false, slots);
        AtomicInteger number = new AtomicInteger();
        this.threads = Executors.newFixedThreadPool(size, r -> {
            Thread thread = new Thread(r, threadName + "-" + number.getAndIncrement());
            thread.setDaemon(true);
            return thread;
        });
        this.drain = drain;
        this.queued = queued;
    }

    /** A request was queued: a thread drains the queue (one already draining, or one started now). */
    void signal() {
        for (int now = draining.get(); now < size; now = draining.get()) {
            if (draining.compareAndSet(now, now + 1)) {
                try {
                    threads.execute(this::drainOnce);
                } catch (RejectedExecutionException closed) {
                    draining.decrementAndGet();
                    throw closed;
                }
                return;
            }
        }
        // Every thread is draining; each looks at the queue again after it stops (drainOnce).
    }

    private void drainOnce() {
        S slot = idle.remove();
        try {
            drain.accept(slot);
        } finally {
            idle.add(slot);
            draining.decrementAndGet();
        }
        // A request queued after the drain's last look, while every thread was draining, started none.
        if (queued.getAsBoolean() && !threads.isShutdown()) {
            try {
                signal();
            } catch (RejectedExecutionException closed) {
                // the writer is closing
            }
        }
    }

    /** Runs {@code task} on the next idle slot, on a slot thread (warm-up). */
    void onSomeSlot(Consumer<S> task) {
        threads.execute(() -> {
            // As many threads as slots: a running task always finds one.
            S slot = idle.remove();
            try {
                task.accept(slot);
            } finally {
                idle.add(slot);
            }
        });
    }

    int size() {
        return size;
    }

    boolean closed() {
        return threads.isShutdown();
    }

    /** Lets running work finish (up to {@code timeout}), then hands every slot to {@code close}. */
    void close(Duration timeout, Consumer<S> close) {
        threads.shutdown();
        try {
            threads.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        idle.forEach(close);
    }
}
