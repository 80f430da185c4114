package io.moose.flows.admin;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.pubsub.Topic;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.SnapshotSelectionCriteria;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.persistence.typed.javadsl.Recovery;
import io.moose.flows.CborSerializable;
import io.moose.flows.node.NodeServices;
import io.moose.flows.model.DataOnlyHocon;
import io.moose.flows.model.DefinitionException;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.ProjectPlan;
import io.moose.flows.model.TopicNames;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * The project definition in force for the whole cluster (a cluster singleton). The file a node
 * starts with only seeds it; after that, definitions applied through admin are the truth, persisted
 * here so every node, including one that restarts later, runs the same one. A change is published
 * to every node after the new topics and tables exist.
 */
public final class ProjectActor extends EventSourcedBehavior<ProjectActor.Command, ProjectActor.Event, ProjectActor.State> {

    public static final String TOPIC_NAME = "moose-flows-project-definition";

    private static final String SINGLETON_NAME = "project";

    public interface Command extends CborSerializable {
    }

    /** A node's starting definition: persisted only if the cluster has none yet. Replies with the one in force. */
    public record Seed(String text, String source, ActorRef<Current> replyTo) implements Command {
    }

    public record Get(ActorRef<Current> replyTo) implements Command {
    }

    /** Validates, plans, provisions, persists and publishes; replies with the plan or why not. */
    public record Apply(String text, boolean dryRun, ActorRef<ApplyResult> replyTo) implements Command {
    }

    private record Provisioned(String text, ProjectPlan plan, Throwable error, ActorRef<ApplyResult> replyTo) implements Command {
    }

    public record Current(String text, String source, Instant appliedAt) implements CborSerializable {
    }

    /** {@code problems} non-empty = refused, nothing changed. */
    public record ApplyResult(boolean applied, ProjectPlan plan, List<String> problems) implements CborSerializable {
    }

    /** Published to every node. */
    public record DefinitionChanged(String text) implements CborSerializable {
    }

    public interface Event extends CborSerializable {
    }

    public record DefinitionApplied(String text, String source, Instant at) implements Event {
    }

    public record State(Optional<Current> current) implements CborSerializable {
    }

    /**
     * This node's proxy of the cluster-wide singleton. Safe to call more than once (the node and
     * the admin routes both do): Akka starts the singleton manager once and returns the same proxy.
     */
    public static ActorRef<Command> singleton(ActorSystem<?> system, NodeServices services) {
        return ClusterSingleton.get(system).init(SingletonActor.of(
                create(services.context().names(), services::provisionAsync), SINGLETON_NAME));
    }

    public static Behavior<Command> create(TopicNames names, Function<ProjectDefinition, CompletionStage<?>> provision) {
        return Behaviors.setup(ctx -> {
            ActorRef<Topic.Command<DefinitionChanged>> topic = ctx.spawn(Topic.create(DefinitionChanged.class, TOPIC_NAME), "topic");
            return new ProjectActor(ctx, names, provision, topic);
        });
    }

    private final ActorContext<Command> ctx;
    private final TopicNames names;
    private final Function<ProjectDefinition, CompletionStage<?>> provision;
    private final ActorRef<Topic.Command<DefinitionChanged>> topic;
    private boolean applying;

    private ProjectActor(ActorContext<Command> ctx, TopicNames names, Function<ProjectDefinition, CompletionStage<?>> provision,
                         ActorRef<Topic.Command<DefinitionChanged>> topic) {
        // A journal failure (PostgreSQL down while the singleton recovers or persists) restarts it with
        // backoff; stopped, the singleton would stay gone until its node left the cluster.
        super(PersistenceId.ofUniqueId(names.persistenceType("project")),
                SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(10), 0.2));
        this.ctx = ctx;
        this.names = names;
        this.provision = provision;
        this.topic = topic;
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
        return new State(Optional.empty());
    }

    @Override
    public CommandHandler<Command, Event, State> commandHandler() {
        return newCommandHandlerBuilder()
                .forAnyState()
                .onCommand(Seed.class, (state, cmd) -> {
                    if (state.current().isPresent()) {
                        return Effect().none().thenRun(s -> cmd.replyTo().tell(s.current().get()));
                    }
                    return Effect().persist(new DefinitionApplied(cmd.text(), cmd.source(), Instant.now()))
                            .thenRun(s -> cmd.replyTo().tell(s.current().get()));
                })
                .onCommand(Get.class, (state, cmd) -> Effect().none().thenRun(s ->
                        s.current().ifPresent(c -> cmd.replyTo().tell(c))))
                .onCommand(Apply.class, this::onApply)
                .onCommand(Provisioned.class, (state, cmd) -> {
                    applying = false;
                    if (cmd.error() != null) {
                        cmd.replyTo().tell(new ApplyResult(false, cmd.plan(), List.of("provisioning failed: " + cmd.error().getMessage())));
                        return Effect().none();
                    }
                    return Effect().persist(new DefinitionApplied(cmd.text(), "admin", Instant.now()))
                            .thenRun(s -> {
                                topic.tell(Topic.publish(new DefinitionChanged(cmd.text())));
                                cmd.replyTo().tell(new ApplyResult(true, cmd.plan(), List.of()));
                            });
                })
                .build();
    }

    private akka.persistence.typed.javadsl.Effect<Event, State> onApply(State state, Apply cmd) {
        ProjectDefinition proposed;
        try {
            proposed = ProjectDefinitionLoader.parseUntrusted(cmd.text(), "request body");
        } catch (DefinitionException e) {
            cmd.replyTo().tell(new ApplyResult(false, null, e.problems()));
            return Effect().none();
        } catch (DataOnlyHocon.Refused e) {
            cmd.replyTo().tell(new ApplyResult(false, null, List.of(e.getMessage())));
            return Effect().none();
        }
        ProjectDefinition current = state.current()
                .map(c -> ProjectDefinitionLoader.parse(c.text(), c.source()))
                .orElse(new ProjectDefinition(List.of(), List.of()));
        ProjectPlan plan = ProjectPlan.between(current, proposed, names);
        if (!plan.acceptable() || cmd.dryRun() || plan.changesNothing()) {
            cmd.replyTo().tell(new ApplyResult(false, plan, plan.refused()));
            return Effect().none();
        }
        if (applying) {
            cmd.replyTo().tell(new ApplyResult(false, plan, List.of("another apply is in progress; try again")));
            return Effect().none();
        }
        applying = true;
        ctx.pipeToSelf(provision.apply(proposed), (ok, error) -> new Provisioned(cmd.text(), plan, error, cmd.replyTo()));
        return Effect().none();
    }

    @Override
    public EventHandler<State, Event> eventHandler() {
        return newEventHandlerBuilder()
                .forAnyState()
                .onEvent(DefinitionApplied.class, (state, e) -> new State(Optional.of(new Current(e.text(), e.source(), e.at()))))
                .build();
    }
}
