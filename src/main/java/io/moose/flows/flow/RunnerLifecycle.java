package io.moose.flows.flow;

import akka.Done;
import akka.actor.typed.javadsl.ActorContext;
import akka.stream.Materializer;
import io.moose.flows.hop.HopOwner;
import io.moose.flows.model.Hop;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * One entity's {@link Runner}, as its actor sees it: started and stopped only by that actor, so it
 * never runs two copies of the same streams (their transactional ids would fence each other) and
 * always drains before it stops. The runs are the actor's own: they are materialized on a
 * materializer bound to the actor, so whatever stops the actor (handoff, passivation, a shard or
 * node stopping, a failure, the JVM shutting down) stops them too. When a run is fenced, the
 * actor is told ({@link #fenced}), stops the rest, and starts again no sooner than
 * {@code fencedRestartDelay}: the decision is the owner's, never the run's. When the runner cannot
 * be created because the flow's transform is unavailable on this node ({@link Transforms.Unavailable}),
 * the entity reports it as failed with the reason and tries again no sooner than {@code failedRetryDelay}.
 */
public final class RunnerLifecycle {

    private final Function<HopOwner, Runner> factory;
    private final HopOwner owner;
    private final Duration fencedRestartDelay;
    private Runner running;
    private CompletionStage<Done> stopping = CompletableFuture.completedFuture(Done.getInstance());
    private long notBeforeNanos = System.nanoTime();
    private String fencedBecause;
    private String failedBecause;
    private Duration failedRetryDelay = Duration.ofSeconds(5);

    /**
     * @param fenced what the actor is sent when one of its runs was fenced (it calls {@link #fenced} on it)
     */
    public <T> RunnerLifecycle(ActorContext<T> ctx, Function<String, T> fenced, Duration fencedRestartDelay,
                               Function<HopOwner, Runner> factory) {
        this.factory = factory;
        this.fencedRestartDelay = fencedRestartDelay;
        var self = ctx.getSelf();
        this.owner = new HopOwner(Materializer.createMaterializer(ctx), reason -> self.tell(fenced.apply(reason)));
    }

    /**
     * Starts the streams unless they run. Returns false while a previous stop is still draining,
     * or while a fenced run's restart delay lasts; the actor tries again on its next keep-alive.
     */
    public boolean start() {
        if (running == null && stopping.toCompletableFuture().isDone() && System.nanoTime() - notBeforeNanos >= 0) {
            try {
                running = factory.apply(owner);
            } catch (Transforms.Unavailable e) {
                failedBecause = e.getMessage();
                notBeforeNanos = System.nanoTime() + failedRetryDelay.toNanos();
                return false;
            }
            fencedBecause = null;
            failedBecause = null;
        }
        return running != null;
    }

    /** How long after a failed start (transform unavailable) the next start may be tried. */
    public RunnerLifecycle retryingFailedStartsAfter(Duration delay) {
        this.failedRetryDelay = delay;
        return this;
    }

    /** Why the last start failed (the transform is unavailable here), while none has succeeded since. */
    public Optional<String> failedBecause() {
        return Optional.ofNullable(failedBecause);
    }

    public CompletionStage<Done> stop() {
        if (running != null) {
            stopping = running.stop();
            running = null;
        }
        return stopping;
    }

    /** A run of this entity was fenced: the other streams drain, and none starts before the delay. */
    public void fenced(String reason) {
        fencedBecause = reason;
        notBeforeNanos = System.nanoTime() + fencedRestartDelay.toNanos();
        stop();
    }

    /** Why the streams were stopped by a fencing, while they have not started again. */
    public Optional<String> fencedBecause() {
        return Optional.ofNullable(fencedBecause);
    }

    public boolean isRunning() {
        return running != null;
    }

    public List<HopView> status() {
        if (running == null && failedBecause != null) {
            return List.of(new HopView(Hop.TRANSFORM.id(), "failed", 0, 0, -1, 0, failedBecause));
        }
        return running == null ? List.of() : running.status();
    }
}
