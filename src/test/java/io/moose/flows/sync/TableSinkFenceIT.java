package io.moose.flows.sync;

import io.moose.flows.hop.HopState;
import io.moose.flows.hop.SupervisedHop;
import io.moose.flows.testing.DataPlaneFixture;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.await;
import static io.moose.flows.testing.DataPlaneFixture.join;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The table sink's fence against a stale run, forced deterministically on the real ClickHouse: a
 * run is held (as SIGSTOP, a long GC pause or a starved host would hold it) after it decided to
 * insert a batch and before its INSERT, while a newer run of the same sink registers, reads the
 * high-water mark and inserts the same records. Released, the old run must store nothing.
 */
class TableSinkFenceIT {

    private static final int RECORDS = 300;

    @Test
    void aRunHeldBetweenItsDecisionAndItsInsertStoresNothingOnceANewerRunTookOver() throws Exception {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            String topic = dp.names.ingestionTopic(UA_0_0);
            String table = dp.names.table(UA_0_0);
            dp.produceUserActivity(UA_0_0, 0, RECORDS);

            // The old run: held right before its first INSERT.
            HeldTableSyncRun old = new HeldTableSyncRun(dp);
            SupervisedHop oldRun = old.run;
            List<String> oldFencings = old.fencings;
            old.awaitHeld();
            assertEquals(0, dp.count(UA_0_0), "the held run has not inserted");

            // A newer run (another node after a failover) registers, reads the mark and inserts everything.
            TableSyncRunner newer = dp.tableSync(UA_0_0);
            newer.start(dp.owner);
            await("the newer run stores every record", Duration.ofSeconds(60), () -> dp.count(UA_0_0) == RECORDS,
                    () -> dp.count(UA_0_0) + " rows, " + newer.status());

            // The old run wakes up and sends the INSERT it had decided on.
            old.release();
            await("the old run ends fenced", Duration.ofSeconds(60), () -> oldRun.status().state() == HopState.FENCED,
                    () -> oldRun.status().toString());
            assertEquals(RECORDS, dp.count(UA_0_0), "the old run's INSERT stored nothing");
            assertEquals(0, dp.duplicateCoordinates(UA_0_0));
            assertEquals(1, oldFencings.size(), "its owner was told once: " + oldFencings);
            assertTrue(oldFencings.get(0).contains("took over"), oldFencings.get(0));

            // It stays ended, and the newer run keeps going.
            dp.produceUserActivity(UA_0_0, RECORDS, 2 * RECORDS);
            await("the newer run stores what comes next", Duration.ofSeconds(60), () -> dp.count(UA_0_0) == 2 * RECORDS,
                    () -> dp.count(UA_0_0) + " rows, " + newer.status());
            assertEquals(HopState.FENCED, oldRun.status().state());
            assertEquals(HopState.RUNNING, newer.status().state());
            assertEquals(0, dp.duplicateCoordinates(UA_0_0));
            assertTrue(dp.fencings.isEmpty(), "the newer run was not fenced: " + dp.fencings);
            assertEquals(List.of(), ingressTablesOtherThanTheNewestRuns(dp, table, topic));
        }
    }

    @Test
    void twoRunsRegisteringAtOnceNeverBothInsert() throws Exception {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            String topic = dp.names.ingestionTopic(UA_0_0);
            String table = dp.names.table(UA_0_0);
            // Whatever the interleaving of two registrations, at most one of them comes out unfenced,
            // and it is the one with the higher (epoch, run).
            for (int round = 0; round < 5; round++) {
                CompletableFuture<SinkFence> a = SinkFence.register(dp.clickhouse, table, topic).toCompletableFuture();
                CompletableFuture<SinkFence> b = SinkFence.register(dp.clickhouse, table, topic).toCompletableFuture();
                List<SinkFence> unfenced = new java.util.ArrayList<>();
                for (CompletableFuture<SinkFence> f : List.of(a, b)) {
                    try {
                        unfenced.add(f.get(60, TimeUnit.SECONDS));
                    } catch (java.util.concurrent.ExecutionException e) {
                        assertTrue(io.moose.flows.hop.RunFencedException.reason(e).isPresent(), e.toString());
                    }
                }
                long usable = 0;
                for (SinkFence fence : unfenced) {
                    if (!join(fence.ingressDropped())) {
                        usable++;
                    }
                }
                assertTrue(usable <= 1, "round " + round + ": " + usable + " runs could still insert");
            }
        }
    }

    /** Ingress tables left behind by runs other than the newest one. */
    private static List<String> ingressTablesOtherThanTheNewestRuns(DataPlaneFixture dp, String table, String topic) {
        String newest = join(dp.clickhouse.query("SELECT run FROM " + dp.clickhouse.qualified(SinkFence.TABLE)
                + " WHERE sink_table = '" + table + "' AND source_topic = '" + topic + "' ORDER BY epoch DESC, run DESC LIMIT 1"))
                .get(0).get(0);
        return join(dp.clickhouse.query("SELECT name FROM system.tables WHERE database = '" + dp.clickhouse.database()
                + "' AND startsWith(name, '" + SinkFence.INGRESS_PREFIX + "') AND NOT startsWith(name, '"
                + SinkFence.INGRESS_PREFIX + newest + "')")).stream().map(r -> r.get(0)).toList();
    }
}
