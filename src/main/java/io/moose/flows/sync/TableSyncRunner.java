package io.moose.flows.sync;

import akka.Done;
import akka.actor.ClassicActorSystemProvider;
import io.micrometer.core.instrument.MeterRegistry;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.hop.HopOwner;
import io.moose.flows.hop.HopStatus;
import io.moose.flows.hop.SupervisedHop;
import io.moose.flows.kafka.KafkaClients;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.model.Hop;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.TopicNames;
import org.apache.kafka.clients.admin.Admin;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The table sync of one model version: its ingestion topic into its table. The TableSyncActor owns
 * one; everything it uses is passed in, so several run side by side in one JVM.
 */
public final class TableSyncRunner {

    private final KafkaClients kafka;
    private final TableSinkSettings settings;
    private final ModelVersion version;
    private final TopicNames names;
    private final ClickHouse clickhouse;
    private final MeterRegistry registry;

    private Admin admin;
    private SupervisedHop sink;
    private boolean running;

    public TableSyncRunner(ClassicActorSystemProvider system, KafkaSettings kafka, TableSinkSettings settings,
                           ModelVersion version, TopicNames names, ClickHouse clickhouse, MeterRegistry registry) {
        this.kafka = new KafkaClients(system, kafka);
        this.settings = settings;
        this.version = version;
        this.names = names;
        this.clickhouse = clickhouse;
        this.registry = registry;
    }

    /** Starts the sink's runs on {@code runOwner}'s materializer; they end when it ends, or when stopped. */
    public synchronized void start(HopOwner runOwner) {
        if (running) {
            return;
        }
        running = true;
        admin = kafka.admin();
        Admin closing = admin;
        String owner = version.ref().baseName();
        sink = new TableSink(owner, Hop.TABLE_SYNC.id(), names.ingestionTopic(version.ref()), names.table(version.ref()),
                version, names.consumerGroup(owner, Hop.TABLE_SYNC), settings, kafka, admin, clickhouse, registry)
                .supervised(registry);
        // However the sink ends (stopped, fenced, or its owner gone), its admin client goes with it.
        sink.whenEnded().whenComplete((s, e) -> closing.close());
        sink.start(runOwner);
    }

    /** Drains (the last batch is inserted) and stops; completes when stopped. */
    public synchronized CompletionStage<Done> stop() {
        if (!running) {
            return CompletableFuture.completedFuture(Done.getInstance());
        }
        running = false;
        return sink.stop();
    }

    /** The sink's status; after a stop, the last run's counters with state stopped. */
    public synchronized HopStatus status() {
        if (sink == null) {
            return new HopStatus(version.ref().baseName(), Hop.TABLE_SYNC.id(), io.moose.flows.hop.HopState.STOPPED,
                    java.util.Optional.empty(), 0, 0, -1, 0);
        }
        return sink.status();
    }

    /** Crashes the current run as a failure would (tests): the sink restarts with backoff. */
    public synchronized void failCurrentRun(Throwable cause) {
        if (running) {
            sink.failCurrentRun(cause);
        }
    }
}
