package io.moose.flows.node;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.pubsub.Topic;
import io.moose.flows.admin.ProjectActor;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.typed.Cluster;
import akka.cluster.ClusterEvent;
import akka.cluster.typed.Join;
import akka.cluster.typed.Subscribe;
import akka.management.cluster.bootstrap.ClusterBootstrap;
import akka.management.javadsl.AkkaManagement;
import akka.http.javadsl.Http;
import com.typesafe.config.Config;
import io.moose.flows.dlq.DlqReplayActor;
import io.moose.flows.flow.FlowActor;
import io.moose.flows.migration.MigrationActor;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.sync.TableSyncActor;

import java.time.Duration;

/**
 * The guardian of a node: joins the cluster, registers the sharded entities, and keeps every entity
 * of the definition in force running by reminding it periodically (an entity whose node died starts
 * again on a survivor at the next reminder).
 */
public final class Node {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Node.class);

    public interface Command {
    }

    private enum KeepAliveTick implements Command {
        INSTANCE
    }

    /** The definition the cluster runs, from the project singleton (on start, or after an apply). */
    private record DefinitionInForce(String text, String source) implements Command {
    }

    private record SeedFailed(Throwable error) implements Command {
    }

    private enum DefinitionCheckTick implements Command {
        INSTANCE
    }

    private record DefinitionCheckFailed(Throwable error) implements Command {
    }

    /** The journal's tables exist (or are not this node's to create): the warm-up can recover. */
    private record JournalSchemaReady(Throwable error) implements Command {
    }

    /** The journal answered the warm-up's recovery: join now. */
    private record JournalWarm(long millis) implements Command {
    }

    /** The warm-up actor stopped (after {@link JournalWarm}, or failing its recovery). */
    private enum WarmUpEnded implements Command {
        INSTANCE
    }

    /** moose-flows.node.join-warm-up-timeout passed: join without a warm journal. */
    private enum WarmUpTimedOut implements Command {
        INSTANCE
    }

    /** A member changed; {@code freedShards} when it left, exited, was downed or removed: its shards may be free now. */
    private record MembershipChanged(boolean freedShards) implements Command {
    }

    private Node() {
    }

    public static ActorSystem<Command> start(Config config, ProjectDefinition definition, String definitionText, String source) {
        return ActorSystem.create(create(config, definition, definitionText, source), "moose-flows", config);
    }

    static Behavior<Command> create(Config config, ProjectDefinition definition, String definitionText, String source) {
        return Behaviors.setup(ctx -> {
            ActorSystem<Void> system = ctx.getSystem();
            NodeServices services = NodeServices.start(system, config, definition);
            NodeContext node = services.context();
            NodeExtension.get(system).register(services);

            if (config.getBoolean("moose-flows.node.down-gone-members")) {
                ctx.spawn(GoneMemberDowning.create(config.getDuration("moose-flows.node.gone-probe-timeout"),
                        config.getDuration("moose-flows.node.gone-probe-interval")), "gone-member-downing");
            }
            ClusterSharding sharding = ClusterSharding.get(system);
            sharding.init(Entity.of(TableSyncActor.ENTITY_KEY, e -> TableSyncActor.create(e.getEntityId(), node))
                    .withStopMessage(new TableSyncActor.Stop()));
            sharding.init(Entity.of(FlowActor.ENTITY_KEY, e -> FlowActor.create(e.getEntityId(), node))
                    .withStopMessage(new FlowActor.Stop()));
            sharding.init(Entity.of(MigrationActor.ENTITY_KEY, e -> MigrationActor.create(e.getEntityId(), node))
                    .withStopMessage(new MigrationActor.Stop()));
            sharding.init(Entity.of(DlqReplayActor.ENTITY_KEY, e -> DlqReplayActor.create(e.getEntityId(), node))
                    .withStopMessage(new DlqReplayActor.Stop()));

            ActorRef<ProjectActor.Command> project = ProjectActor.singleton(system, services);
            ActorRef<Topic.Command<ProjectActor.DefinitionChanged>> changes =
                    ctx.spawn(Topic.create(ProjectActor.DefinitionChanged.class, ProjectActor.TOPIC_NAME), "project-changes");
            changes.tell(Topic.subscribe(ctx.messageAdapter(ProjectActor.DefinitionChanged.class,
                    changed -> new DefinitionInForce(changed.text(), "admin"))));

            Duration interval = config.getDuration("moose-flows.node.keep-alive-interval");
            Duration askTimeout = config.getDuration("moose-flows.admin.ask-timeout");
            Duration checkInterval = config.getDuration("moose-flows.node.definition-check-interval");
            // A leaving member has handed its shards off by the time it is Left; a dead one's shards are
            // free once it is Removed. Reminding the entities right then, not at the next tick, starts
            // them on a survivor up to a keep-alive interval sooner (rolling restarts, failovers).
            Cluster.get(system).subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.MemberEvent.class,
                    event -> new MembershipChanged(event instanceof ClusterEvent.MemberLeft || event instanceof ClusterEvent.MemberExited
                            || event instanceof ClusterEvent.MemberDowned || event instanceof ClusterEvent.MemberRemoved)),
                    ClusterEvent.MemberEvent.class));
            Duration warmUpTimeout = config.getDuration("moose-flows.node.join-warm-up-timeout");
            long startedAt = System.nanoTime();
            startManagement(system, config);
            boolean[] joined = {false};
            Runnable join = () -> {
                if (!joined[0]) {
                    joined[0] = true;
                    joinCluster(system, config);
                }
            };
            if (warmUpTimeout.isZero()) {
                join.run();
            } else {
                ctx.pipeToSelf(NodeExtension.get(system).journalSchema().map(JournalSchema::created)
                                .orElse(java.util.concurrent.CompletableFuture.completedFuture(akka.Done.getInstance())),
                        (done, error) -> new JournalSchemaReady(error));
            }
            return Behaviors.withTimers(timers -> {
                if (!joined[0]) {
                    timers.startSingleTimer(WarmUpTimedOut.INSTANCE, warmUpTimeout);
                }
                timers.startTimerWithFixedDelay(KeepAliveTick.INSTANCE, Duration.ZERO, interval);
                // The published change is not enough: a node that joined moments before an apply is not
                // yet a subscriber everywhere and misses it (seen in ClusterFailoverIT), and a failed
                // provisioning keeps the old definition. So each node also asks what is in force.
                timers.startTimerWithFixedDelay(DefinitionCheckTick.INSTANCE, checkInterval, checkInterval);
                seedDefinition(ctx, project, definitionText, source, askTimeout);
                return Behaviors.receive(Command.class)
                        .onMessage(JournalSchemaReady.class, ready -> {
                            if (!joined[0]) {
                                ActorRef<JournalWarmUp.Command> warmUp = ctx.spawn(JournalWarmUp.create(
                                        ctx.messageAdapter(JournalWarmUp.Warm.class, warm -> new JournalWarm(warm.millis()))), "journal-warm-up");
                                ctx.watchWith(warmUp, WarmUpEnded.INSTANCE);
                            }
                            return Behaviors.same();
                        })
                        .onMessage(JournalWarm.class, warm -> {
                            if (!joined[0]) {
                                LOG.info("Journal answered a first recovery in {} ms ({} ms after start); joining the cluster",
                                        warm.millis(), (System.nanoTime() - startedAt) / 1_000_000);
                                timers.cancel(WarmUpTimedOut.INSTANCE);
                                join.run();
                            }
                            return Behaviors.same();
                        })
                        .onMessageEquals(WarmUpEnded.INSTANCE, () -> {
                            if (!joined[0]) {
                                // Recovery failed (the journal refused the query): try again until the timeout joins anyway.
                                ctx.scheduleOnce(Duration.ofSeconds(1), ctx.getSelf(), new JournalSchemaReady(null));
                            }
                            return Behaviors.same();
                        })
                        .onMessageEquals(WarmUpTimedOut.INSTANCE, () -> {
                            if (!joined[0]) {
                                LOG.warn("Journal did not answer a recovery within {} (moose-flows.node.join-warm-up-timeout);"
                                        + " joining the cluster anyway: entities moved here recover once it answers", warmUpTimeout);
                                join.run();
                            }
                            return Behaviors.same();
                        })
                        .onMessageEquals(KeepAliveTick.INSTANCE, () -> {
                            remindEntities(sharding, node.currentDefinition());
                            return Behaviors.same();
                        })
                        .onMessage(MembershipChanged.class, changed -> {
                            if (changed.freedShards()) {
                                remindEntities(sharding, node.currentDefinition());
                            }
                            return Behaviors.same();
                        })
                        .onMessage(SeedFailed.class, failed -> {
                            LOG.info("Project definition not confirmed by the cluster yet ({}); asking again",
                                    failed.error().getMessage());
                            seedDefinition(ctx, project, definitionText, source, askTimeout);
                            return Behaviors.same();
                        })
                        .onMessageEquals(DefinitionCheckTick.INSTANCE, () -> {
                            ctx.ask(ProjectActor.Current.class, project, askTimeout, ProjectActor.Get::new,
                                    (current, error) -> error != null ? new DefinitionCheckFailed(error)
                                            : new DefinitionInForce(current.text(), current.source()));
                            return Behaviors.same();
                        })
                        .onMessage(DefinitionCheckFailed.class, failed -> {
                            LOG.debug("Could not ask the cluster for the definition in force: {}", failed.error().toString());
                            return Behaviors.same();
                        })
                        .onMessage(DefinitionInForce.class, inForce -> {
                            services.useDefinition(inForce.text(), inForce.source());
                            return Behaviors.same();
                        })
                        .build();
            });
        });
    }

    /** Offers this node's file to the cluster; the definition already in force wins (it may carry applied versions). */
    private static void seedDefinition(ActorContext<Command> ctx, ActorRef<ProjectActor.Command> project,
                                       String text, String source, Duration timeout) {
        ctx.ask(ProjectActor.Current.class, project, timeout,
                replyTo -> new ProjectActor.Seed(text, source, replyTo),
                (current, error) -> error != null ? new SeedFailed(error) : new DefinitionInForce(current.text(), current.source()));
    }

    /** The admin port (health, metrics, admin routes) binds at once, before the node joins: liveness answers during the warm-up. */
    private static void startManagement(ActorSystem<Void> system, Config config) {
        TlsSettings tls = TlsSettings.from(config);
        // Cluster Bootstrap probes the other nodes' admin ports with Akka HTTP's default client
        // context: with HTTPS there, it must trust their certificates.
        tls.client().ifPresent(Http.get(system)::setDefaultClientHttpsContext);
        AkkaManagement.get(system).start(management -> tls.admin().map(management::withHttpsConnectionContext).orElse(management));
    }

    private static void joinCluster(ActorSystem<Void> system, Config config) {
        if (config.getBoolean("moose-flows.node.bootstrap")) {
            ClusterBootstrap.get(system).start();
        } else if (config.getStringList("moose-flows.node.seed-nodes").isEmpty()) {
            Cluster cluster = Cluster.get(system);
            cluster.manager().tell(Join.create(cluster.selfMember().address()));
        }
    }

    private static void remindEntities(ClusterSharding sharding, ProjectDefinition definition) {
        for (ModelVersion version : definition.allVersions()) {
            sharding.entityRefFor(TableSyncActor.ENTITY_KEY, TableSyncActor.entityId(version.ref())).tell(new TableSyncActor.KeepAlive());
        }
        for (FlowDefinition flow : definition.flows()) {
            sharding.entityRefFor(FlowActor.ENTITY_KEY, flow.id()).tell(new FlowActor.KeepAlive());
            if (flow.loadsHistory()) {
                sharding.entityRefFor(MigrationActor.ENTITY_KEY, flow.id()).tell(new MigrationActor.KeepAlive());
            }
        }
    }
}
