package io.moose.flows.flow;

import akka.Done;
import akka.actor.ClassicActorSystemProvider;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.hop.HopOwner;
import io.moose.flows.hop.SupervisedHop;
import io.moose.flows.kafka.KafkaClients;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.kafka.ReadableLag;
import io.moose.flows.model.DefinitionException;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.Hop;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.TopicNames;
import io.moose.flows.sync.TableSink;
import io.moose.flows.sync.TableSinkSettings;
import org.apache.kafka.clients.admin.Admin;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Runs every hop of ONE flow (RFC "Flows Input/Output Topics"): copy-in (source ingestion topic to
 * the flow's input topic), transform (input to output, rejects to the DLQ), then copy-out (output
 * to the target ingestion topic) for a regular flow, or to-table (output straight into the target
 * table) for a migration. The FlowActor owns one; everything is passed in, nothing is static.
 * The topics and the target table must exist (provisioning creates them).
 */
public final class FlowRunner {

    private final ClassicActorSystemProvider system;
    private final KafkaClients kafka;
    private final FlowSettings flowSettings;
    private final TableSinkSettings sinkSettings;
    private final FlowDefinition flow;
    private final ModelVersion source;
    private final ModelVersion target;
    private final TopicNames names;
    private final ClickHouse clickhouse;
    private final MeterRegistry registry;
    private final Counter deadLetters;
    private final ProjectDefinition project;
    private final Transforms transforms;

    private final Map<Hop, SupervisedHop> hops = new LinkedHashMap<>();
    private Admin admin;
    private boolean running;

    public FlowRunner(ClassicActorSystemProvider system, KafkaSettings kafka, FlowSettings flowSettings,
                      TableSinkSettings sinkSettings, ProjectDefinition project, FlowDefinition flow, TopicNames names,
                      ClickHouse clickhouse, MeterRegistry registry, Transforms transforms) {
        this.system = system;
        this.kafka = new KafkaClients(system, kafka);
        this.flowSettings = flowSettings;
        this.sinkSettings = sinkSettings;
        this.flow = flow;
        this.project = project;
        this.transforms = transforms;
        this.source = version(project, flow.source().toString(), flow);
        this.target = version(project, flow.target().toString(), flow);
        this.names = names;
        this.clickhouse = clickhouse;
        this.registry = registry;
        this.deadLetters = Counter.builder("moose.dlq.records").tag("flow", flow.id())
                .description("Records a flow sent to its dead-letter topic").register(registry);
        // Fail at construction, not on the stream's first run, when the transform cannot be created
        // (Transforms.Unavailable: the flow's entity reports it and tries again).
        transforms.create(flow, source, target);
    }

    private static ModelVersion version(ProjectDefinition project, String ref, FlowDefinition flow) {
        return project.version(io.moose.flows.model.VersionRef.parse(ref)).orElseThrow(() ->
                new DefinitionException("flow " + flow.id(), List.of("unknown model version " + ref)));
    }

    public String flowId() {
        return flow.id();
    }

    /**
     * Starts every hop on {@code owner}'s materializer; each restarts with backoff on failure until
     * stopped, fenced, or its owner ends.
     */
    public synchronized void start(HopOwner owner) {
        if (running) {
            return;
        }
        running = true;
        admin = kafka.admin();
        hops.clear();
        FlowHops streams = new FlowHops(flowSettings, kafka, system.classicSystem().dispatcher());
        String id = flow.id();
        String input = names.flowInput(id);
        String output = names.flowOutput(id);
        String dlq = names.deadLetter(id);

        // A migration also carries what an earlier migration writes into its source table.
        Set<String> copyInSources = new LinkedHashSet<>(project.copyInSources(flow, names));
        hops.put(Hop.COPY_IN, topicHop(Hop.COPY_IN, copyInSources, null, context ->
                streams.copy(names.consumerGroup(id, Hop.COPY_IN), names.transactionalId(id, Hop.COPY_IN), copyInSources, input, context)));
        hops.put(Hop.TRANSFORM, topicHop(Hop.TRANSFORM, Set.of(input), deadLetters, context ->
                streams.transform(names.consumerGroup(id, Hop.TRANSFORM), names.transactionalId(id, Hop.TRANSFORM), input,
                        () -> new TransformStep(id, transforms.create(flow, source, target), target, output, dlq, new ObjectMapper()),
                        context)));
        if (flow.isMigration()) {
            hops.put(Hop.TO_TABLE, new TableSink(id, Hop.TO_TABLE.id(), output, names.table(target.ref()), target,
                    names.consumerGroup(id, Hop.TO_TABLE), sinkSettings, kafka, admin, clickhouse, registry)
                    .supervised(registry));
        } else {
            String targetIngestion = names.ingestionTopic(target.ref());
            hops.put(Hop.COPY_OUT, topicHop(Hop.COPY_OUT, Set.of(output), null, context ->
                    streams.copy(names.consumerGroup(id, Hop.COPY_OUT), names.transactionalId(id, Hop.COPY_OUT), output,
                            targetIngestion, context)));
        }
        // However the hops end (stopped, fenced, or their owner gone), the admin client goes with them.
        Admin closing = admin;
        CompletableFuture.allOf(hops.values().stream().map(h -> h.whenEnded().toCompletableFuture()).toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> closing.close());
        hops.values().forEach(h -> h.start(owner));
    }

    private SupervisedHop topicHop(Hop hop, Set<String> inputTopics, Counter diverted, SupervisedHop.RunFactory run) {
        String group = names.consumerGroup(flow.id(), hop);
        Admin probeAdmin = admin;
        ReadableLag lag = new ReadableLag(kafka.settings());
        return new SupervisedHop(flow.id(), hop.id(), flowSettings.restart(), flowSettings.statusInterval(),
                flowSettings.stopTimeout(), registry, diverted, () -> lag.of(probeAdmin, group, inputTopics), run);
    }

    /** Drains every hop (each commits its last transaction or insert) and completes when all stopped. */
    public synchronized CompletionStage<Done> stop() {
        if (!running) {
            return CompletableFuture.completedFuture(Done.getInstance());
        }
        running = false;
        List<CompletableFuture<Done>> stopped = new ArrayList<>();
        hops.values().forEach(h -> stopped.add(h.stop().toCompletableFuture()));
        return CompletableFuture.allOf(stopped.toArray(CompletableFuture[]::new)).handle((v, e) -> Done.getInstance());
    }

    public synchronized FlowStatus status() {
        return new FlowStatus(flow.id(), hops.values().stream().map(SupervisedHop::status).toList());
    }

    /** Crashes one hop's current run as a failure would (tests, operators): it restarts with backoff. */
    public synchronized void failHop(Hop hop, Throwable cause) {
        Optional.ofNullable(hops.get(hop)).ifPresent(h -> h.failCurrentRun(cause));
    }
}
