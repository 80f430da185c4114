package io.moose.flows.flow;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
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
import io.moose.flows.migration.MigrationActor;
import io.moose.flows.model.FlowDefinition;

import java.time.Duration;
import java.util.Optional;

/**
 * One flow's hops (copy-in, transform, copy-out or to-table), sharded so exactly one copy runs in
 * the cluster. Pause and resume are persisted. A flow that loads history starts its copy-in only
 * after its {@link MigrationActor} has recorded the cut and positioned the copy-in there; the flow
 * journals that it was told so ({@link CutConfirmed}), so after a handoff or failover it starts at
 * once instead of waiting for its migration entity to start and answer again (issue 11: up to 7 s
 * of a failover).
 */
public final class FlowActor extends EventSourcedBehavior<FlowActor.Command, PauseState.Event, FlowActor.State> {

    public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Flow");

    public interface Command extends CborSerializable {
    }

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

    private record CutAnswered(boolean ready) implements Command {
    }

    /**
     * Journaled once the migration entity answered that the cut is recorded and the copy-in's group
     * positioned at it: both are permanent, so later starts of this entity need not ask again.
     */
    public record CutConfirmed() implements PauseState.Event {
    }

    /** Paused or not (the events every pausable entity journals), and whether the cut was confirmed. */
    public record State(boolean paused, boolean cutConfirmed) {
        State apply(PauseState.Event event) {
            return event instanceof CutConfirmed ? new State(paused, true)
                    : new State(new PauseState(paused).apply(event).paused(), cutConfirmed);
        }
    }


    public static Behavior<Command> create(String flowId, NodeContext node) {
        return Behaviors.setup(ctx -> {
            Optional<FlowDefinition> flow = node.currentDefinition().flow(flowId);
            if (flow.isEmpty()) {
                ctx.getLog().warn("Flow {} is not in the project definition; stopping", flowId);
                return Behaviors.stopped();
            }
            return new FlowActor(ctx, flow.get(), node);
        });
    }

    private final ActorContext<Command> ctx;
    private final FlowDefinition flow;
    private final RunnerLifecycle streams;
    private final Duration askTimeout;
    private final Duration fencedRestartDelay;
    private final Duration retryInterval;
    private boolean cutReady;
    private boolean askingForCut;
    /** Counts this flow as starting while it waits for its cut (readiness waits for a node's start to settle). */
    private final io.moose.flows.hop.StartingRuns startingRuns;
    private boolean stopping;

    private FlowActor(ActorContext<Command> ctx, FlowDefinition flow, NodeContext node) {
        super(PersistenceId.of(node.names().persistenceType(ENTITY_KEY.name()), flow.id()));
        this.ctx = ctx;
        this.flow = flow;
        this.fencedRestartDelay = node.config().getDuration("moose-flows.node.fenced-restart-delay");
        this.retryInterval = node.config().getDuration("moose-flows.transforms.retry-interval");
        this.streams = new RunnerLifecycle(ctx, RunFenced::new, fencedRestartDelay, owner -> node.runners().flow(flow, owner))
                .retryingFailedStartsAfter(retryInterval);
        this.askTimeout = node.config().getDuration("moose-flows.admin.ask-timeout");
        this.cutReady = !flow.loadsHistory();
        this.startingRuns = io.moose.flows.hop.StartingRuns.of(node.metrics());
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
    public State emptyState() {
        return new State(false, false);
    }

    @Override
    public SignalHandler<State> signalHandler() {
        return newSignalHandlerBuilder()
                .onSignal(RecoveryCompleted.instance(), state -> {
                    cutReady = cutReady || state.cutConfirmed();
                    ensureRunning(state);
                })
                // However the entity stops, its runs stop (they also end with its materializer).
                .onSignal(PostStop.instance(), state -> {
                    streams.stop();
                    if (askingForCut) {
                        askingForCut = false;
                        startingRuns.end();
                    }
                })
                .build();
    }

    @Override
    public CommandHandler<Command, PauseState.Event, State> commandHandler() {
        return newCommandHandlerBuilder()
                .forAnyState()
                .onCommand(KeepAlive.class, (state, cmd) -> {
                    ensureRunning(state);
                    return Effect().none();
                })
                .onCommand(CutAnswered.class, (state, cmd) -> {
                    askingForCut = false;
                    startingRuns.end();
                    cutReady = cmd.ready();
                    EffectBuilder<PauseState.Event, State> effect = cmd.ready() && !state.cutConfirmed()
                            ? Effect().persist(new CutConfirmed()) : Effect().none();
                    return effect.thenRun(this::ensureRunning);
                })
                .onCommand(Pause.class, (state, cmd) -> {
                    EffectBuilder<PauseState.Event, State> effect = state.paused() ? Effect().none() : Effect().persist(new PauseState.Paused());
                    // Answered once the runs have drained: a batch they had polled is inserted before
                    // the reply, none after it (AdminIT saw rows ingested after the reply land).
                    return effect.thenRun(s -> ctx.pipeToSelf(streams.stop(), (done, error) -> new PauseDrained(cmd.replyTo())));
                })
                .onCommand(PauseDrained.class, (state, cmd) -> Effect().none().thenRun(s -> cmd.replyTo().tell(status(s))))
                .onCommand(Resume.class, (state, cmd) -> {
                    EffectBuilder<PauseState.Event, State> effect = state.paused() ? Effect().persist(new PauseState.Resumed()) : Effect().none();
                    return effect.thenRun(s -> {
                        ensureRunning(s);
                        cmd.replyTo().tell(status(s));
                    });
                })
                .onCommand(GetStatus.class, (state, cmd) -> Effect().none().thenRun(s -> cmd.replyTo().tell(status(s))))
                .onCommand(Stop.class, (state, cmd) -> {
                    stopping = true;
                    ctx.pipeToSelf(streams.stop(), (done, error) -> new Drained());
                    return Effect().none();
                })
                .onCommand(Drained.class, (state, cmd) -> Effect().stop())
                .onCommand(RunFenced.class, (state, cmd) -> {
                    ctx.getLog().warn("{}: a run was fenced ({}); stopping this entity's streams, starting them again"
                            + " no sooner than {}", entityName(), cmd.reason(), fencedRestartDelay);
                    streams.fenced(cmd.reason());
                    return Effect().none();
                })
                .build();
    }

    private String entityName() {
        return "flow " + flow.id();
    }

    private void ensureRunning(State state) {
        if (state.paused() || stopping) {
            return;
        }
        if (!cutReady) {
            askForCut();
            return;
        }
        boolean wasFailing = streams.failedBecause().isPresent();
        if (!streams.start() && streams.failedBecause().isPresent() && !wasFailing) {
            ctx.getLog().error("{} cannot start, trying again every {}: {}", entityName(),
                    retryInterval, streams.failedBecause().get());
        } else if (wasFailing && streams.isRunning()) {
            ctx.getLog().info("{} started; its transform is available now", entityName());
        }
    }

    /** The migration actor answers once the copy-in group sits at the cut; until then nothing runs. */
    private void askForCut() {
        if (askingForCut) {
            return;
        }
        askingForCut = true;
        startingRuns.begin();
        ClusterSharding sharding = ClusterSharding.get(ctx.getSystem());
        ctx.pipeToSelf(
                sharding.entityRefFor(MigrationActor.ENTITY_KEY, flow.id())
                        .<MigrationActor.CutReady>ask(MigrationActor.EnsureCut::new, askTimeout),
                (ready, error) -> new CutAnswered(error == null));
    }

    @Override
    public EventHandler<State, PauseState.Event> eventHandler() {
        return State::apply;
    }

    private EntityStatus status(State state) {
        String phase = stopping ? "stopping"
                : state.paused() ? "paused"
                : streams.isRunning() ? "running"
                : streams.fencedBecause().isPresent() ? "fenced"
                : streams.failedBecause().isPresent() ? "failed"
                : cutReady ? "starting" : "waiting";
        return new EntityStatus(flow.isMigration() ? "migration" : "regular", flow.id(), flow.source().toString(),
                flow.target().toString(), phase, ctx.getSystem().address().toString(), streams.status());
    }
}
