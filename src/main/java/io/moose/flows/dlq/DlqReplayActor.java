package io.moose.flows.dlq;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.moose.flows.CborSerializable;
import io.moose.flows.flow.TransformStep;
import io.moose.flows.flow.Transforms;
import io.moose.flows.kafka.KafkaClients;
import io.moose.flows.model.DefinitionException;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.Hop;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.TopicNames;
import io.moose.flows.node.NodeContext;
import org.apache.kafka.clients.producer.ProducerConfig;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One flow's DLQ replay, sharded by flow id so at most one run of it exists in the cluster (its
 * transactional id would fence a second one anyway). Not persistent: the replay's state is its
 * checkpoints in Kafka ({@link DlqReplay}), so asking again after a crash or a handoff resumes the
 * interrupted replay wherever this entity now lives. The run belongs to the entity: it is stopped
 * (last transaction committed) on handoff and aborted if the entity stops any other way.
 */
public final class DlqReplayActor extends AbstractBehavior<DlqReplayActor.Command> {

    public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "DlqReplay");

    public interface Command extends CborSerializable {
    }

    /**
     * Replays the flow's dead letters, or resumes the interrupted replay; answered once the run knows
     * which (with state {@code failed} and the reason when it cannot start). While a replay runs, it
     * is answered with that replay.
     *
     * @param sinceMillis pass over dead letters written before it (epoch ms); -1 for none
     */
    public record Replay(long sinceMillis, ActorRef<ReplayStatus> replyTo) implements Command {
    }

    /** The running or last replay this entity ran; {@code none} when it ran none since it started. */
    public record GetStatus(ActorRef<ReplayStatus> replyTo) implements Command {
    }

    /** Handoff or shutdown: the run commits what it did, then the entity stops. */
    public record Stop() implements Command {
    }

    private record Started(ReplayStatus status, Throwable error) implements Command {
    }

    private record Ended(ReplayStatus status, Throwable error) implements Command {
    }

    public static Behavior<Command> create(String flowId, NodeContext node) {
        return Behaviors.setup(ctx -> new DlqReplayActor(ctx, flowId, node));
    }

    private final String flowId;
    private final NodeContext node;
    private final DlqSettings settings;
    private final Counter replayed;
    private final Counter failed;
    private final List<ActorRef<ReplayStatus>> waiting = new ArrayList<>();
    private DlqReplay run;
    private ReplayStatus last;
    private boolean stopping;

    private DlqReplayActor(ActorContext<Command> ctx, String flowId, NodeContext node) {
        super(ctx);
        this.flowId = flowId;
        this.node = node;
        this.settings = DlqSettings.from(node.config());
        this.replayed = Counter.builder("moose.dlq.replayed").tag("flow", flowId)
                .description("Dead letters a DLQ replay sent through the flow's transform into its output topic").register(node.metrics());
        this.failed = Counter.builder("moose.dlq.replay.failed").tag("flow", flowId)
                .description("Dead letters that failed again in a DLQ replay and went back to the DLQ").register(node.metrics());
        this.last = ReplayStatus.none(flowId);
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Replay.class, this::onReplay)
                .onMessage(GetStatus.class, cmd -> {
                    cmd.replyTo().tell(run != null ? run.status() : last);
                    return this;
                })
                .onMessage(Started.class, started -> {
                    ReplayStatus status = started.error() == null ? started.status()
                            : last.withState(ReplayStatus.FAILED, String.valueOf(rootMessage(started.error())));
                    waiting.forEach(w -> w.tell(status));
                    waiting.clear();
                    return this;
                })
                .onMessage(Ended.class, ended -> {
                    last = ended.error() == null ? ended.status() : run.status();
                    if (ended.error() != null) {
                        getContext().getLog().warn("{}: DLQ replay failed: {}", flowId, ended.error().toString());
                    } else {
                        getContext().getLog().info("{}: DLQ replay {} {}: {} written, {} failed again, {} passed over",
                                flowId, last.id(), last.state(), last.written(), last.failed(), last.skipped());
                    }
                    run = null;
                    return stopping ? Behaviors.stopped() : this;
                })
                .onMessage(Stop.class, stop -> {
                    stopping = true;
                    if (run == null) {
                        return Behaviors.stopped();
                    }
                    run.stop();
                    return this;
                })
                .onSignal(PostStop.class, signal -> {
                    if (run != null) {
                        run.abort();
                    }
                    return this;
                })
                .build();
    }

    private Behavior<Command> onReplay(Replay cmd) {
        if (run != null) {
            if (run.started().isDone()) {
                cmd.replyTo().tell(run.status());
            } else {
                waiting.add(cmd.replyTo());
            }
            return this;
        }
        try {
            run = newRun(cmd.sinceMillis() < 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(cmd.sinceMillis())));
        } catch (DefinitionException | IllegalArgumentException | Transforms.Unavailable e) {
            cmd.replyTo().tell(last.withState(ReplayStatus.FAILED, e.getMessage()));
            return this;
        }
        waiting.add(cmd.replyTo());
        getContext().pipeToSelf(run.started(), Started::new);
        getContext().pipeToSelf(run.finished(), Ended::new);
        run.start();
        return this;
    }

    /** Through the flow's current transform, resolved as the flow's transform hop resolves it. */
    private DlqReplay newRun(Optional<Instant> since) {
        ProjectDefinition definition = node.currentDefinition();
        FlowDefinition flow = definition.flow(flowId).orElseThrow(() ->
                new IllegalArgumentException("no flow '" + flowId + "' in the definition in force"));
        ModelVersion source = version(definition, flow, flow.source());
        ModelVersion target = version(definition, flow, flow.target());
        TopicNames names = node.names();
        TransformStep step = new TransformStep(flowId, node.transforms().create(flow, source, target), target,
                names.flowOutput(flowId), names.deadLetter(flowId), new ObjectMapper());
        KafkaClients kafka = new KafkaClients(getContext().getSystem(), node.kafka());
        String group = names.consumerGroup(flowId, Hop.DLQ_REPLAY);
        return new DlqReplay(flowId, names.deadLetter(flowId), step, kafka.consumer(group),
                kafka.producer().withProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG, names.transactionalId(flowId, Hop.DLQ_REPLAY)),
                settings, since, replayed, failed);
    }

    private static ModelVersion version(ProjectDefinition definition, FlowDefinition flow, io.moose.flows.model.VersionRef ref) {
        return definition.version(ref).orElseThrow(() ->
                new DefinitionException("flow " + flow.id(), List.of("unknown model version " + ref)));
    }

    private static String rootMessage(Throwable error) {
        Throwable t = error;
        while (t.getCause() != null && (t instanceof java.util.concurrent.CompletionException)) {
            t = t.getCause();
        }
        return t.toString();
    }
}
