package io.moose.flows.flow;

import akka.Done;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Starts and stops one entity's {@link Runner}, so its actor never runs two copies of the same
 * streams (their transactional ids would fence each other) and always drains before it stops.
 * Used only from inside the owning actor.
 */
public final class RunnerLifecycle {

    private final Supplier<Runner> factory;
    private Runner running;
    private CompletionStage<Done> stopping = CompletableFuture.completedFuture(Done.getInstance());

    public RunnerLifecycle(Supplier<Runner> factory) {
        this.factory = factory;
    }

    /**
     * Starts the streams unless they run. Returns false while a previous stop is still draining;
     * the actor tries again on its next keep-alive.
     */
    public boolean start() {
        if (running == null && stopping.toCompletableFuture().isDone()) {
            running = factory.get();
        }
        return running != null;
    }

    public CompletionStage<Done> stop() {
        if (running != null) {
            stopping = running.stop();
            running = null;
        }
        return stopping;
    }

    public boolean isRunning() {
        return running != null;
    }

    public List<HopView> status() {
        return running == null ? List.of() : running.status();
    }
}
