package io.moose.flows.node;

import akka.actor.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * {@code GET /health/ready} (Akka Management readiness check, moose-akka.conf): true only once this
 * node can take an ingest request at once — its topics and tables are provisioned, it runs the
 * definition the cluster has in force, every ingest producer is initialised and the ingest path warmed
 * up without writing anything ({@code IngestServer#ready}) — and it is an Up member
 * of the cluster, and the start of the runs its shards brought it has settled (no run starting for
 * {@code moose-flows.node.ready-start-settle}, or {@code ready-start-timeout} after all else was
 * ready; checked until it first holds, then no longer). Answers from state the node already holds, so it never waits. The same answer is
 * the {@code moose_node_ready} gauge (1 or 0) on {@code GET /metrics}, for alerting.
 */
public final class ReadinessCheck implements Supplier<CompletionStage<Boolean>> {

    private final akka.actor.typed.ActorSystem<?> system;

    public ReadinessCheck(ActorSystem system) {
        this.system = Adapter.toTyped(system);
    }

    @Override
    public CompletionStage<Boolean> get() {
        return CompletableFuture.completedFuture(isReady(system));
    }

    /** What {@code /health/ready} answers; also the {@code moose_node_ready} gauge. */
    public static boolean isReady(akka.actor.typed.ActorSystem<?> system) {
        NodeServices services = NodeExtension.get(system).services().toCompletableFuture().getNow(null);
        return services != null
                && services.runsDefinitionInForce()
                && services.ingest().ready()
                && Cluster.get(system).selfMember().status() == MemberStatus.up()
                && NodeExtension.get(system).startSettled(io.moose.flows.hop.StartingRuns.of(services.metrics()),
                        services.context().config());
    }
}
