package io.moose.flows.sync;

import akka.Done;
import io.moose.flows.hop.HopState;
import io.moose.flows.hop.SupervisedHop;
import io.moose.flows.testing.DataPlaneFixture;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What "paused" means: a table sync and a flow answer a pause with the completion of their runs'
 * stop, so the stop must not complete while an INSERT the run had decided on is still to come.
 * Forced deterministically: the run is held right before its INSERT (as a frozen process or a long
 * GC pause would hold it), asked to stop, and only released after the stop was seen pending.
 */
class StopWaitsForTheInsertInFlightIT {

    private static final int RECORDS = 300;

    @Test
    void aStopCompletesOnlyAfterTheHeldInsertLandedAndNothingLandsAfterIt() throws Exception {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            dp.produceUserActivity(UA_0_0, 0, RECORDS);

            HeldTableSyncRun heldRun = new HeldTableSyncRun(dp);
            SupervisedHop run = heldRun.run;
            List<String> fencings = heldRun.fencings;
            TableSink.EncodedBatch held = heldRun.awaitHeld();
            assertTrue(held.rows() > 0, "the held batch has rows");

            CompletableFuture<Done> stopped = run.stop().toCompletableFuture();
            // The run is held before its INSERT for as long as this test likes: the stop must wait.
            Thread.sleep(2_000);
            assertFalse(stopped.isDone(), "the stop completed while an INSERT was still to come: " + run.status());
            assertEquals(HopState.DRAINING, run.status().state());
            assertEquals(0, dp.count(UA_0_0), "nothing inserted while held");

            heldRun.release();
            stopped.get(60, TimeUnit.SECONDS);
            long atStop = dp.count(UA_0_0);
            assertEquals(held.rows(), atStop, "the held batch landed before the stop completed, and only it");
            assertEquals(HopState.STOPPED, run.status().state());
            assertTrue(fencings.isEmpty(), "a stop is not a fencing: " + fencings);

            // Whatever arrives after the stop completed stays in Kafka: nothing more is written.
            dp.produceUserActivity(UA_0_0, RECORDS, 2 * RECORDS);
            Thread.sleep(3_000);
            assertEquals(atStop, dp.count(UA_0_0), "a row landed after the stop completed");
            assertEquals(0, dp.duplicateCoordinates(UA_0_0));
        }
    }
}
