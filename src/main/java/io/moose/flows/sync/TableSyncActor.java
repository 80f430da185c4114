package io.moose.flows.sync;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.SnapshotSelectionCriteria;
import akka.actor.typed.PostStop;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EffectBuilder;

import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.persistence.typed.javadsl.Recovery;
import akka.persistence.typed.javadsl.SignalHandler;
import io.moose.flows.CborSerializable;
import io.moose.flows.node.EntityStatus;
import io.moose.flows.node.PauseState;
import io.moose.flows.node.NodeContext;
import io.moose.flows.flow.RunnerLifecycle;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.VersionRef;

import java.time.Duration;
import java.util.Optional;

/**
 * One model version's table sync (ingestion topic into its table), sharded so exactly one runs in
 * the cluster. Whether it is paused is persisted, so a pause survives handoff and crashes.
 */
public final class TableSyncActor
        extends EventSourcedBehavior<TableSyncActor.Command, PauseState.Event, PauseState> {

    public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "TableSync");

    public interface Command extends CborSerializable {
    }

    /** Sent by every node periodically: starts the entity (and its streams) wherever its shard lives. */
    public record KeepAlive() implements Command {
    }

    public record Pause(ActorRef<EntityStatus> replyTo) implements Command {
    }

    public record Resume(ActorRef<EntityStatus> replyTo) implements Command {
    }

    public record GetStatus(ActorRef<EntityStatus> replyTo) implements Command {
    }

    /** Handoff or shutdown: drain and commit, then stop. */
    public record Stop() implements Command {
    }

    private record Drained() implements Command {
    }

    /** The streams a pause stopped have drained: only now is "paused" true (nothing more is written). */
    private record PauseDrained(ActorRef<EntityStatus> replyTo) implements Command {
    }

    /** One of this entity's runs was fenced (told by its hop, from a stream thread). */
    private record RunFenced(String reason) implements Command {
    }


    /** Entity id of a version's table sync: its table name, e.g. {@code UserActivity_0_1}. */
    public static String entityId(VersionRef version) {
        return version.baseName();
    }

    public static Behavior<Command> create(String entityId, NodeContext node) {
        return Behaviors.setup(ctx -> {
            Optional<ModelVersion> version = node.currentDefinition().allVersions().stream()
                    .filter(v -> entityId(v.ref()).equals(entityId))
                    .findFirst();
            if (version.isEmpty()) {
                ctx.getLog().warn("Table sync {} is not in the project definition; stopping", entityId);
                return Behaviors.stopped();
            }
            return new TableSyncActor(ctx, entityId, node, version.get());
        });
    }

    private final ActorContext<Command> ctx;
    private final String entityId;
    private final String source;
    private final String target;
    private final RunnerLifecycle streams;
    private final Duration fencedRestartDelay;
    private boolean stopping;
    /** When this incarnation was created, and when its stop was asked for: for the handoff log lines. */
    private final long createdNanos = System.nanoTime();
    private long stopAskedNanos;

    private TableSyncActor(ActorContext<Command> ctx, String entityId, NodeContext node, ModelVersion version) {
        super(PersistenceId.of(node.names().persistenceType(ENTITY_KEY.name()), entityId));
        this.ctx = ctx;
        this.entityId = entityId;
        this.source = node.names().ingestionTopic(version.ref());
        this.target = node.clickhouse().qualified(node.names().table(version.ref()));
        this.fencedRestartDelay = node.config().getDuration("moose-flows.node.fenced-restart-delay");
        this.streams = new RunnerLifecycle(ctx, RunFenced::new, fencedRestartDelay, owner -> node.runners().tableSync(version, owner));
    }

    /**
     * Recovery reads the events only: no release ever saved a snapshot of this entity, and asking the
     * snapshot store first cost a PostgreSQL query each time the entity started, e.g. on the node its
     * shard moved to (issue 11: 1.4-28 s of recovery in a rolling restart on a loaded host).
     */
    @Override
    public Recovery recovery() {
        return Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none());
    }

    @Override
    public PauseState emptyState() {
        return PauseState.RUNNING;
    }

    @Override
    public SignalHandler<PauseState> signalHandler() {
        return newSignalHandlerBuilder()
                .onSignal(RecoveryCompleted.instance(), state -> {
                    ctx.getLog().info("{}: entity started here, recovered in {} ms{}", entityName(),
                            (System.nanoTime() - createdNanos) / 1_000_000, state.paused() ? " (paused)" : "");
                    if (!state.paused()) {
                        streams.start();
                    }
                })
                // However the entity stops, its runs stop (they also end with its materializer).
                .onSignal(PostStop.instance(), state -> streams.stop())
                .build();
    }

    @Override
    public CommandHandler<Command, PauseState.Event, PauseState> commandHandler() {
        return newCommandHandlerBuilder()
                .forAnyState()
                .onCommand(KeepAlive.class, (state, cmd) -> {
                    if (!state.paused() && !stopping) {
                        streams.start();
                    }
                    return Effect().none();
                })
                .onCommand(Pause.class, (state, cmd) -> {
                    EffectBuilder<PauseState.Event, PauseState> effect = state.paused() ? Effect().none() : Effect().persist(new PauseState.Paused());
                    // Answered once the runs have drained: a batch they had polled is inserted before
                    // the reply, none after it (AdminIT saw rows ingested after the reply land).
                    return effect.thenRun(s -> ctx.pipeToSelf(streams.stop(), (done, error) -> new PauseDrained(cmd.replyTo())));
                })
                .onCommand(PauseDrained.class, (state, cmd) -> Effect().none().thenRun(s -> cmd.replyTo().tell(status(s))))
                .onCommand(Resume.class, (state, cmd) -> {
                    EffectBuilder<PauseState.Event, PauseState> effect = state.paused() ? Effect().persist(new PauseState.Resumed()) : Effect().none();
                    return effect.thenRun(s -> {
                        if (!stopping) {
                            streams.start();
                        }
                        cmd.replyTo().tell(status(s));
                    });
                })
                .onCommand(GetStatus.class, (state, cmd) -> Effect().none().thenRun(s -> cmd.replyTo().tell(status(s))))
                .onCommand(Stop.class, (state, cmd) -> {
                    // The shard's handoff (or the node's shutdown) asks for it: drain, then stop.
                    ctx.getLog().info("{}: handoff begun, draining its sink", entityName());
                    stopping = true;
                    stopAskedNanos = System.nanoTime();
                    ctx.pipeToSelf(streams.stop(), (done, error) -> new Drained());
                    return Effect().none();
                })
                .onCommand(Drained.class, (state, cmd) -> {
                    ctx.getLog().info("{}: sink run drained in {} ms, entity stops", entityName(),
                            (System.nanoTime() - stopAskedNanos) / 1_000_000);
                    return Effect().stop();
                })
                .onCommand(RunFenced.class, (state, cmd) -> {
                    ctx.getLog().warn("{}: a run was fenced ({}); stopping this entity's streams, starting them again"
                            + " no sooner than {}", entityName(), cmd.reason(), fencedRestartDelay);
                    streams.fenced(cmd.reason());
                    return Effect().none();
                })
                .build();
    }

    private String entityName() {
        return "table sync " + entityId;
    }

    @Override
    public EventHandler<PauseState, PauseState.Event> eventHandler() {
        return PauseState::apply;
    }

    private EntityStatus status(PauseState state) {
        String phase = stopping ? "stopping" : state.paused() ? "paused" : streams.isRunning() ? "running"
                : streams.fencedBecause().isPresent() ? "fenced" : "starting";
        String address = ctx.getSystem().address().toString();
        return new EntityStatus("table-sync", entityId, source, target, phase, address, streams.status());
    }
}
