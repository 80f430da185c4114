package io.moose.flows.node;

import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.ClickHouseSettings;
import io.moose.flows.flow.Transforms;
import io.moose.flows.ingest.IngestServer;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.TopicNames;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The per-node resources behind the entities: journal schema (see {@link JournalSchema}), provisioned topics and tables, the
 * ClickHouse client, metrics, the data plane and the ingest API. Started once per node, closed by
 * coordinated shutdown after the entities have drained.
 */
public record NodeServices(NodeContext context, PrometheusMeterRegistry metrics, IngestServer ingest,
                           CompletableFuture<Void> definitionInForce) {

    private static final Logger LOG = LoggerFactory.getLogger(NodeServices.class);
    private static final java.util.concurrent.Executor PROVISIONING = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "moose-provisioning");
        t.setDaemon(true);
        return t;
    });

    public static NodeServices start(ActorSystem<?> system, Config config, ProjectDefinition definition) {
        Duration provisioningTimeout = config.getDuration("moose-flows.node.provisioning-timeout");
        // In the background: a node started while PostgreSQL is down or stalled waits for it, not ready
        // (JournalReadinessCheck), instead of failing its guardian after a timeout.
        NodeExtension.get(system).register(JournalSchema.create(system, config));
        KafkaSettings kafka = KafkaSettings.from(config);
        ClickHouseSettings clickhouseSettings = ClickHouseSettings.from(config);
        TopicNames names = TopicNames.withNamespace(config.getString("moose-flows.namespace"));
        provision(kafka, clickhouseSettings, definition, names, provisioningTimeout);

        ClickHouse clickhouse = ClickHouse.connect(clickhouseSettings);
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // Before the readiness gauge (which reads it): no scrape ever registers it.
        io.moose.flows.hop.StartingRuns.of(metrics);
        Gauge.builder("moose.node.ready", system, s -> ReadinessCheck.isReady(s) ? 1 : 0).strongReference(true)
                .description("1 while GET /health/ready says this node can take ingest requests").register(metrics);
        AtomicReference<ProjectDefinition> current = new AtomicReference<>(definition);
        Transforms transforms = Transforms.from(config);
        transforms.plugins().folder().ifPresent(folder -> LOG.info("Transform plugins: {}", transforms.plugins().describeSearched()));
        NodeContext context = new NodeContext(config, current, names, kafka, clickhouse, metrics,
                new DataPlaneRunners(system, config, current, names, kafka, clickhouse, metrics, transforms), transforms);

        IngestServer ingest = await(IngestServer.start(system, config, definition, names, metrics).toCompletableFuture(),
                provisioningTimeout, "start the ingest API");
        LOG.info("Ingest API listening on port {}", ingest.port());

        CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
        // Stop taking writes first; requests under way finish before the streams drain.
        shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), "stop-ingest",
                () -> ingest.stop().thenApply(v -> akka.Done.getInstance()));
        shutdown.addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-clients", () -> {
            clickhouse.close();
            return CompletableFuture.completedFuture(akka.Done.getInstance());
        });
        return new NodeServices(context, metrics, ingest, new CompletableFuture<>());
    }

    /** Provisions a definition off the caller's thread (the project actor must not block). */
    public CompletionStage<Provisioning.Report> provisionAsync(ProjectDefinition definition) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return Provisioning.run(context.kafka(), ClickHouseSettings.from(context.config()), definition, context.names())
                        .requireOk();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while provisioning", e);
            }
        }, PROVISIONING);
    }

    /** Whether this node runs the definition the cluster has in force (asked of the project singleton at start). */
    public boolean runsDefinitionInForce() {
        return definitionInForce.isDone();
    }

    /**
     * Switches this node to the definition the cluster runs: provisions it (a no-op when the project
     * actor already did), then the ingest API and the entity reminders use it.
     */
    public void useDefinition(String text, String source) {
        ProjectDefinition next = ProjectDefinitionLoader.parse(text, source);
        if (next.equals(context.currentDefinition())) {
            definitionInForce.complete(null);
            return;
        }
        provisionAsync(next).whenComplete((report, error) -> {
            if (error != null) {
                LOG.error("Cannot provision the project definition from {}; keeping the current one", source, error);
                return;
            }
            context.definition().set(next);
            ingest.setDefinition(next);
            definitionInForce.complete(null);
            LOG.info("Now running the project definition from {}: {} model versions, {} flows",
                    source, next.allVersions().size(), next.flows().size());
        });
    }

    /** Retries until the services answer: a node may start before Kafka or ClickHouse in a deployment. */
    static void provision(KafkaSettings kafka, ClickHouseSettings clickhouse, ProjectDefinition definition,
                          TopicNames names, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Duration pause = Duration.ofSeconds(1);
        while (true) {
            try {
                Provisioning.Report report = Provisioning.run(kafka, clickhouse, definition, names);
                if (report.ok() || System.nanoTime() > deadline) {
                    report.warnings().forEach(w -> LOG.warn("Provisioning: {}", w));
                    LOG.info("Provisioning: {}", report.requireOk().summary());
                    return;
                }
                LOG.warn("Provisioning failed, retrying: {}", report.problems());
                Thread.sleep(pause.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while provisioning", e);
            }
        }
    }

    private static <T> T await(CompletableFuture<T> future, Duration timeout, String what) {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("could not " + what + ": " + e.getMessage(), e);
        }
    }
}
