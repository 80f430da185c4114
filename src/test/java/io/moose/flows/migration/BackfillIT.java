package io.moose.flows.migration;

import io.moose.flows.admin.ProjectActor;
import io.moose.flows.testing.IngestClient;
import io.moose.flows.testing.TableCounts;
import io.moose.flows.testing.TestNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The RFC's open question answered: a regular flow added later with backfill gets history and live records once. */
class BackfillIT {

    private static final int HISTORY = 20_000;
    private static final int LIVE_BATCHES = 40;
    private static final int BATCH = 50;
    private static final Duration SETTLE = Duration.ofMinutes(3);
    private static final String BACKFILL_FLOW = "UserActivity_0_0_ActivityArchive_0_0";

    @Test
    void regularFlowAddedLaterWithBackfillDeliversHistoryAndLiveRecordsExactlyOnce() throws Exception {
        try (TestNode node = TestNode.start(resource("/definitions/v0.conf"), "moose-flows.migration.chunk-size = 3000")) {
            IngestClient ingest = new IngestClient(node.ingestUrl());
            TableCounts tables = new TableCounts(node.clickhouse);
            ingest.ingestUserActivity("0.0", "hist", HISTORY, 1_000);

            Thread live = new Thread(() -> {
                try {
                    for (int b = 0; b < LIVE_BATCHES; b++) {
                        ingest.ingestUserActivity("0.0", "live" + b, BATCH, BATCH);
                        Thread.sleep(100);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            live.start();
            Thread.sleep(1_000);
            ProjectActor.ApplyResult applied = node.apply(resource("/definitions/v0-with-backfill.conf"));
            assertTrue(applied.applied(), () -> "apply refused: " + applied.problems());
            assertEquals(List.of(BACKFILL_FLOW), applied.plan().newMigrations());
            live.join();

            long expected = HISTORY + (long) LIVE_BATCHES * BATCH;
            TableCounts.await("archive complete", SETTLE,
                    () -> tables.rows("ActivityArchive_0_0") == expected && tables.rows("UserActivity_0_0") == expected,
                    () -> "archive " + tables.rows("ActivityArchive_0_0") + ", source " + tables.rows("UserActivity_0_0")
                            + " of " + expected);
            assertEquals(0, tables.duplicateEvents("ActivityArchive_0_0"));
            assertEquals(0, tables.duplicateCoordinates("ActivityArchive_0_0"));
            MigrationActor.Progress progress = node.migration(BACKFILL_FLOW);
            assertEquals("done", progress.phase(), progress::toString);
            assertTrue(progress.rowsLoaded() >= HISTORY, progress::toString);
        }
    }

    private String resource(String name) throws java.io.IOException {
        return new String(Objects.requireNonNull(getClass().getResourceAsStream(name)).readAllBytes(), StandardCharsets.UTF_8);
    }
}
