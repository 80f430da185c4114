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

    /** Completes once the node has provisioned and started its services. */
    public CompletionStage<NodeServices> services() {
        return services;
    }
}
