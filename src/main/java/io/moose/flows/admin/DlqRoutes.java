package io.moose.flows.admin;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.dlq.DeadLetters;
import io.moose.flows.dlq.DlqReplayActor;
import io.moose.flows.dlq.DlqSettings;
import io.moose.flows.dlq.ReplayStatus;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.Hop;
import io.moose.flows.node.NodeContext;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * {@code GET /flows/{id}/dlq} (a read) and {@code POST /flows/{id}/dlq/replay} (a change: token and
 * audit, by {@link AdminRoutes}). The listing reads the DLQ on whichever node answers; the replay
 * runs in the flow's {@link DlqReplayActor}, wherever sharding places it, never in the caller.
 */
final class DlqRoutes {

    private final NodeContext node;
    private final AdminSettings admin;
    private final DlqSettings settings;
    private final ClusterSharding sharding;
    /** Kafka's clients block: the listing runs on Akka's dispatcher for blocking work. */
    private final Executor blocking;

    DlqRoutes(ActorSystem<?> system, NodeContext node, AdminSettings admin) {
        this.node = node;
        this.admin = admin;
        this.settings = DlqSettings.from(node.config());
        this.sharding = ClusterSharding.get(system);
        this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    }

    CompletionStage<HttpResponse> list(String flowId, Optional<String> limitParameter) {
        if (flow(flowId).isEmpty()) {
            return done(unknownFlow(flowId));
        }
        int limit;
        try {
            limit = limitParameter.map(Integer::parseInt).orElse(settings.listLimit());
        } catch (NumberFormatException e) {
            limit = -1;
        }
        if (limit < 1 || limit > settings.maxListLimit()) {
            return done(json(StatusCodes.BAD_REQUEST, AdminJson.error("limit: expected a whole number from 1 to "
                    + settings.maxListLimit() + " (moose-flows.dlq.max-list-limit), got '" + limitParameter.orElse("") + "'")));
        }
        int n = limit;
        CompletableFuture<DeadLetters.Listing> listing = CompletableFuture.supplyAsync(() -> {
            try {
                return DeadLetters.list(node.kafka(), flowId, node.names().deadLetter(flowId),
                        node.names().consumerGroup(flowId, Hop.DLQ_REPLAY), n, settings);
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }, blocking);
        CompletionStage<ReplayStatus> running = sharding.entityRefFor(DlqReplayActor.ENTITY_KEY, flowId)
                .<ReplayStatus>ask(DlqReplayActor.GetStatus::new, admin.askTimeout())
                .exceptionally(error -> null);
        return listing.thenCombine(running, (dlq, live) -> json(StatusCodes.OK, AdminJson.dlq(dlq,
                        live != null && live.running() ? live : dlq.lastReplay())))
                .exceptionally(error -> json(StatusCodes.SERVICE_UNAVAILABLE, AdminJson.error("cannot read the dead-letter topic "
                        + node.names().deadLetter(flowId) + " within moose-flows.dlq.read-timeout (" + settings.readTimeout()
                        + "): " + rootMessage(error))));
    }

    CompletionStage<HttpResponse> replay(String flowId, Optional<String> sinceParameter) {
        if (flow(flowId).isEmpty()) {
            return done(unknownFlow(flowId));
        }
        long since;
        try {
            since = sinceParameter.map(s -> Instant.parse(s).toEpochMilli()).orElse(-1L);
        } catch (DateTimeParseException e) {
            return done(json(StatusCodes.BAD_REQUEST, AdminJson.error("since: expected an ISO-8601 instant such as "
                    + "2026-12-02T10:00:00Z, got '" + sinceParameter.orElse("") + "'")));
        }
        return sharding.entityRefFor(DlqReplayActor.ENTITY_KEY, flowId)
                .<ReplayStatus>ask(replyTo -> new DlqReplayActor.Replay(since, replyTo), settings.startTimeout())
                .thenApply(status -> ReplayStatus.FAILED.equals(status.state())
                        ? json(StatusCodes.SERVICE_UNAVAILABLE, AdminJson.replay(status).put("error",
                        "the replay could not start: " + status.error()))
                        : json(StatusCodes.ACCEPTED, AdminJson.replay(status)))
                .exceptionally(error -> json(StatusCodes.GATEWAY_TIMEOUT, AdminJson.error("the replay of " + flowId
                        + " did not confirm its start within moose-flows.dlq.replay.start-timeout (" + settings.startTimeout()
                        + "); it may still start, check GET /flows/" + flowId + "/dlq")));
    }

    private Optional<FlowDefinition> flow(String flowId) {
        return node.currentDefinition().flow(flowId);
    }

    private static HttpResponse unknownFlow(String id) {
        return json(StatusCodes.NOT_FOUND, AdminJson.error("no flow '" + id
                + "' in the definition in force (table syncs have no dead-letter topic); GET /flows lists them"));
    }

    private static String rootMessage(Throwable error) {
        Throwable t = error;
        while (t.getCause() != null && t instanceof java.util.concurrent.CompletionException) {
            t = t.getCause();
        }
        return t.toString();
    }

    private static CompletionStage<HttpResponse> done(HttpResponse response) {
        return CompletableFuture.completedFuture(response);
    }

    private static HttpResponse json(StatusCode status, ObjectNode body) {
        return HttpResponse.create().withStatus(status)
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, AdminJson.bytes(body)));
    }
}
