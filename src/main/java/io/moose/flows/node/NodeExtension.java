package io.moose.flows.node;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Hands the node's services to code Akka instantiates by itself, such as the admin route provider
 * of Akka Management.
 */
public final class NodeExtension implements Extension {

    private static final ExtensionId<NodeExtension> ID = new ExtensionId<>() {
        @Override
        public NodeExtension createExtension(ActorSystem<?> system) {
            return new NodeExtension();
        }
    };

    private final CompletableFuture<NodeServices> services = new CompletableFuture<>();
    private volatile JournalSchema journalSchema;

    public static NodeExtension get(ActorSystem<?> system) {
        return ID.apply(system);
    }

    void register(NodeServices started) {
        services.complete(started);
    }

    void register(JournalSchema schema) {
        journalSchema = schema;
    }

    /** The journal's tables being created; empty before the node has started creating them. */
    public java.util.Optional<JournalSchema> journalSchema() {
        return java.util.Optional.ofNullable(journalSchema);
    }

    private long readyExceptStartSince;
    private volatile boolean startSettled;

    /**
     * Whether the burst of runs a node starts when it joins (every entity its shards bring) is over:
     * called once everything else readiness needs holds; true once no run has been starting for
     * {@code moose-flows.node.ready-start-settle} (and at least that long has passed), or once
     * {@code ready-start-timeout} has passed (a sink that cannot reach ClickHouse must not keep
     * ingest, which needs only Kafka, closed). Once true, it stays true: later rebalances do not make
     * a serving node unready.
     */
    synchronized boolean startSettled(io.moose.flows.hop.StartingRuns runs, com.typesafe.config.Config config) {
        if (startSettled) {
            return true;
        }
        long settle = config.getDuration("moose-flows.node.ready-start-settle").toNanos();
        long timeout = config.getDuration("moose-flows.node.ready-start-timeout").toNanos();
        long now = System.nanoTime();
        if (readyExceptStartSince == 0) {
            readyExceptStartSince = now;
        }
        long waited = now - readyExceptStartSince;
        boolean quiet = waited >= settle && runs.starting() == 0 && runs.quietNanos() >= settle;
        if (quiet || waited >= timeout) {
            startSettled = true;
            org.slf4j.LoggerFactory.getLogger(NodeExtension.class).info(
                    "Runs starting here: {} {} ms after the rest of readiness held; ready", quiet ? "settled"
                            : runs.starting() + " still starting, ready-start-timeout passed", waited / 1_000_000);
        }
        return startSettled;
    }

    /** Completes once the node has provisioned and started its services. */
    public CompletionStage<NodeServices> services() {
        return services;
    }
}
