package io.moose.flows.sync;

import io.moose.flows.hop.HopOwner;
import io.moose.flows.hop.SupervisedHop;
import io.moose.flows.kafka.KafkaClients;
import io.moose.flows.model.Hop;
import io.moose.flows.testing.DataPlaneFixture;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;

/**
 * A table-sync run of UserActivity 0.0 that stops right before every INSERT until released, as a
 * frozen process, a long GC pause or a starved host would hold it between deciding on a batch and
 * sending it. Its owner's fencings are collected in {@link #fencings}.
 */
final class HeldTableSyncRun {

    final SupervisedHop run;
    final List<String> fencings = new CopyOnWriteArrayList<>();
    private final CompletableFuture<TableSink.EncodedBatch> reachedInsert = new CompletableFuture<>();
    private final CompletableFuture<Void> release = new CompletableFuture<>();

    /** Starts the run; it holds at its first INSERT until {@link #release}. */
    HeldTableSyncRun(DataPlaneFixture dp) {
        String topic = dp.names.ingestionTopic(UA_0_0);
        String table = dp.names.table(UA_0_0);
        TableSink sink = new TableSink(table, Hop.TABLE_SYNC.id(), topic, table, dp.version(UA_0_0),
                dp.names.consumerGroup(table, Hop.TABLE_SYNC), dp.sinkSettings, new KafkaClients(dp.system, dp.kafka),
                dp.admin, dp.clickhouse, dp.registry);
        sink.beforeEveryInsert(batch -> {
            reachedInsert.complete(batch);
            return release;
        });
        run = sink.supervised(dp.registry);
        run.start(HopOwner.of(dp.system, fencings::add));
    }

    /** Waits until the run is held before its first INSERT; returns the batch it decided to insert. */
    TableSink.EncodedBatch awaitHeld() throws Exception {
        return reachedInsert.get(60, TimeUnit.SECONDS);
    }

    /** Lets the held INSERT (and every later one) go. */
    void release() {
        release.complete(null);
    }
}
