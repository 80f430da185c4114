package io.moose.flows.node;

import akka.actor.ActorSystem;
import akka.actor.typed.javadsl.Adapter;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Readiness check of Akka Management (moose-akka.conf, {@code akka.management.health-checks}): a node
 * is not ready while its journal tables could not be created yet (PostgreSQL down or stalled at
 * start); {@code /health/ready} then answers 500 with the journal's last error.
 */
public final class JournalReadinessCheck implements Supplier<CompletionStage<Boolean>> {

    private final akka.actor.typed.ActorSystem<?> system;

    public JournalReadinessCheck(ActorSystem system) {
        this.system = Adapter.toTyped(system);
    }

    @Override
    public CompletionStage<Boolean> get() {
        return NodeExtension.get(system).journalSchema()
                .<CompletionStage<Boolean>>map(schema -> schema.ready()
                        ? CompletableFuture.completedFuture(true)
                        : CompletableFuture.failedFuture(new IllegalStateException("journal not ready: " + schema.problem())))
                .orElseGet(() -> CompletableFuture.completedFuture(false));
    }
}
