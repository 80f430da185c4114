package io.moose.flows.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.persistence.typed.javadsl.SignalHandler;
import akka.persistence.typed.javadsl.Recovery;
import akka.persistence.typed.SnapshotSelectionCriteria;

import java.util.UUID;

/**
 * Recovers one persistence id that has no events, then stops: the journal plugin, its connection
 * pool and the recovery queries are started and compiled on a node before it joins the cluster, so
 * the first entity whose shard moves to this node recovers at the speed of a warm node. A JVM that
 * had just started paid all of that in the first moved entity's recovery (issue 11: 6-7 s between
 * a table sync's shard starting on its new node and the entity recovered, in a rolling restart).
 * Writes nothing: a persistence id without events leaves no row.
 */
final class JournalWarmUp extends EventSourcedBehavior<JournalWarmUp.Command, JournalWarmUp.Command, Boolean> {

    enum Command {
        DONE
    }

    static Behavior<Command> create(ActorRef<Warm> replyTo) {
        return Behaviors.setup(ctx -> new JournalWarmUp(ctx, replyTo, System.nanoTime()));
    }

    /** The journal answered a recovery; {@code millis} from the warm-up's start. */
    record Warm(long millis) {
    }

    private final ActorContext<Command> ctx;
    private final ActorRef<Warm> replyTo;
    private final long startedAt;

    private JournalWarmUp(ActorContext<Command> ctx, ActorRef<Warm> replyTo, long startedAt) {
        super(PersistenceId.ofUniqueId("moose-journal-warm-up|" + UUID.randomUUID()));
        this.ctx = ctx;
        this.replyTo = replyTo;
        this.startedAt = startedAt;
    }

    @Override
    public Recovery recovery() {
        return Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none());
    }

    @Override
    public Boolean emptyState() {
        return Boolean.FALSE;
    }

    @Override
    public SignalHandler<Boolean> signalHandler() {
        return newSignalHandlerBuilder()
                .onSignal(RecoveryCompleted.instance(), state -> {
                    replyTo.tell(new Warm((System.nanoTime() - startedAt) / 1_000_000));
                    ctx.getSelf().tell(Command.DONE);
                })
                .build();
    }

    @Override
    public CommandHandler<Command, Command, Boolean> commandHandler() {
        return newCommandHandlerBuilder().forAnyState().onAnyCommand(cmd -> Effect().stop());
    }

    @Override
    public EventHandler<Boolean, Command> eventHandler() {
        return newEventHandlerBuilder().forAnyState().onAnyEvent((state, event) -> state);
    }
}
