package io.moose.flows.admin;

import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.ShardRegion;
import akka.cluster.sharding.typed.GetClusterShardingStats;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.actor.typed.javadsl.AskPattern;
import io.moose.flows.node.EntityStatus;
import io.moose.flows.node.NodeContext;
import io.moose.flows.flow.FlowActor;
import io.moose.flows.migration.MigrationActor;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.sync.TableSyncActor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Answers for the whole cluster by asking the sharded entities of the definition in force, wherever
 * they run. An entity that does not answer within the ask timeout is shown as {@value #UNKNOWN}
 * rather than failing the whole answer: one stuck entity must not hide the others from an operator.
 */
final class ClusterStatus {

    static final String UNKNOWN = "unknown";

    /** What admin asks an entity: the same three commands exist on flows and table syncs. */
    enum Ask { STATUS, PAUSE, RESUME }

    /** Which entity an admin id names: a flow (its flow id) or a table sync (its table name). */
    sealed interface Target permits FlowTarget, TableSyncTarget {

        CompletionStage<EntityStatus> ask(ClusterSharding sharding, Ask ask, Duration timeout);

        /** What is known without the entity: the definition's view of it. */
        EntityStatus unknown(NodeContext node);
    }

    record FlowTarget(FlowDefinition flow) implements Target {

        @Override
        public CompletionStage<EntityStatus> ask(ClusterSharding sharding, Ask ask, Duration timeout) {
            return sharding.entityRefFor(FlowActor.ENTITY_KEY, flow.id()).ask(replyTo -> switch (ask) {
                case STATUS -> new FlowActor.GetStatus(replyTo);
                case PAUSE -> new FlowActor.Pause(replyTo);
                case RESUME -> new FlowActor.Resume(replyTo);
            }, timeout);
        }

        @Override
        public EntityStatus unknown(NodeContext node) {
            return new EntityStatus(flow.isMigration() ? "migration" : "regular", flow.id(),
                    flow.source().toString(), flow.target().toString(), UNKNOWN, "", List.of());
        }
    }

    record TableSyncTarget(ModelVersion version) implements Target {

        @Override
        public CompletionStage<EntityStatus> ask(ClusterSharding sharding, Ask ask, Duration timeout) {
            return sharding.entityRefFor(TableSyncActor.ENTITY_KEY, TableSyncActor.entityId(version.ref())).ask(replyTo -> switch (ask) {
                case STATUS -> new TableSyncActor.GetStatus(replyTo);
                case PAUSE -> new TableSyncActor.Pause(replyTo);
                case RESUME -> new TableSyncActor.Resume(replyTo);
            }, timeout);
        }

        @Override
        public EntityStatus unknown(NodeContext node) {
            return new EntityStatus("table-sync", TableSyncActor.entityId(version.ref()), node.names().ingestionTopic(version.ref()),
                    node.clickhouse().qualified(node.names().table(version.ref())), UNKNOWN, "", List.of());
        }
    }

    private final ActorSystem<?> system;
    private final ClusterSharding sharding;
    private final NodeContext node;
    private final AdminSettings settings;

    ClusterStatus(ActorSystem<?> system, NodeContext node, AdminSettings settings) {
        this.system = system;
        this.sharding = ClusterSharding.get(system);
        this.node = node;
        this.settings = settings;
    }

    Optional<Target> find(String id) {
        ProjectDefinition definition = node.currentDefinition();
        Optional<FlowDefinition> flow = definition.flow(id);
        if (flow.isPresent()) {
            return Optional.of(new FlowTarget(flow.get()));
        }
        return definition.allVersions().stream()
                .filter(v -> TableSyncActor.entityId(v.ref()).equals(id))
                .findFirst()
                .map(TableSyncTarget::new);
    }

    /** Every flow, then every table sync, of the definition in force. */
    CompletionStage<List<EntityStatus>> all() {
        ProjectDefinition definition = node.currentDefinition();
        List<CompletableFuture<EntityStatus>> asks = new ArrayList<>();
        definition.flows().forEach(f -> asks.add(status(new FlowTarget(f)).toCompletableFuture()));
        definition.allVersions().forEach(v -> asks.add(status(new TableSyncTarget(v)).toCompletableFuture()));
        return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
                .thenApply(done -> asks.stream().map(CompletableFuture::join).toList());
    }

    CompletionStage<EntityStatus> status(Target target) {
        return target.ask(sharding, Ask.STATUS, settings.askTimeout()).exceptionally(error -> target.unknown(node));
    }

    /**
     * Persisted by the entity before it replies, and idempotent (pausing a paused entity changes
     * nothing). Fails when the entity does not answer in time: the change may still happen.
     */
    CompletionStage<EntityStatus> change(Target target, Ask ask) {
        return target.ask(sharding, ask, settings.askTimeout());
    }

    /** Flows of the definition in force that load history (migrations and backfills). */
    List<FlowDefinition> migrations() {
        return node.currentDefinition().flows().stream().filter(FlowDefinition::loadsHistory).toList();
    }

    CompletionStage<List<MigrationActor.Progress>> allProgress() {
        List<CompletableFuture<MigrationActor.Progress>> asks = migrations().stream()
                .map(f -> progress(f).toCompletableFuture()).toList();
        return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new))
                .thenApply(done -> asks.stream().map(CompletableFuture::join).toList());
    }

    CompletionStage<MigrationActor.Progress> progress(FlowDefinition flow) {
        return sharding.entityRefFor(MigrationActor.ENTITY_KEY, flow.id())
                .<MigrationActor.Progress>ask(MigrationActor.GetProgress::new, settings.askTimeout())
                .exceptionally(error -> new MigrationActor.Progress(flow.id(), UNKNOWN, 0, 0, 0, -1, Map.of(), "", null,
                        "no answer within moose-flows.admin.ask-timeout (" + settings.askTimeout() + ")", ""));
    }

    /**
     * Which node hosts which shards of each entity type, cluster wide (Management's
     * {@code /cluster/shards/{name}} only reports the regions of the node it runs on).
     */
    CompletionStage<Map<String, Map<String, Map<String, Integer>>>> shards() {
        List<EntityTypeKey<?>> keys = List.of(FlowActor.ENTITY_KEY, TableSyncActor.ENTITY_KEY, MigrationActor.ENTITY_KEY,
                io.moose.flows.dlq.DlqReplayActor.ENTITY_KEY);
        Map<String, CompletableFuture<ShardRegion.ClusterShardingStats>> asks = new LinkedHashMap<>();
        for (EntityTypeKey<?> key : keys) {
            asks.put(key.name(), AskPattern.<GetClusterShardingStats, ShardRegion.ClusterShardingStats>ask(sharding.shardState().narrow(),
                    replyTo -> new GetClusterShardingStats(key, settings.askTimeout(), replyTo),
                    settings.askTimeout().multipliedBy(2), system.scheduler()).toCompletableFuture());
        }
        return CompletableFuture.allOf(asks.values().toArray(CompletableFuture[]::new)).thenApply(done -> {
            Map<String, Map<String, Map<String, Integer>>> byType = new LinkedHashMap<>();
            asks.forEach((type, stats) -> {
                Map<String, Map<String, Integer>> byNode = new LinkedHashMap<>();
                stats.join().getRegions().forEach((address, region) -> {
                    Map<String, Integer> entitiesPerShard = new TreeMap<>();
                    // The Java view of a Scala Map[ShardId, Int] boxes the counts as Object.
                    region.getStats().forEach((shard, entities) -> entitiesPerShard.put(shard, ((Number) entities).intValue()));
                    byNode.put(address.toString(), entitiesPerShard);
                });
                byType.put(type, byNode);
            });
            return byType;
        });
    }
}
