package io.moose.flows;

import io.moose.flows.flow.FlowRunner;
import io.moose.flows.hop.HopState;
import io.moose.flows.hop.HopStatus;
import io.moose.flows.model.Hop;
import io.moose.flows.sync.TableSyncRunner;
import io.moose.flows.testing.DataPlaneFixture;
import io.moose.flows.testing.Infra;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.moose.flows.testing.DataPlaneFixture.PA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.PA_0_1;
import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.UA_0_1;
import static io.moose.flows.testing.DataPlaneFixture.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The RFC example end to end on real Kafka and ClickHouse, every runner started before ingestion:
 * 4 flows (2 regular, 2 migrations) and 4 table syncs. Counts are exact, so a lost or duplicated
 * record anywhere fails the test.
 */
class DataPlaneIT {

    private static final int N = 3000;
    private static final int M = 2000;
    private static final Duration LANDING = Duration.ofSeconds(90);

    @Test
    void rfcExampleDeliversEveryRecordExactlyOnceIntoEveryTable() {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            dp.startEverything();
            dp.produceUserActivity(UA_0_0, 0, N);
            dp.produceUserActivity(UA_0_1, 0, M);

            assertExactlyOnce(dp, N, M);
            dp.flows().forEach(f -> assertEquals(0, f.status().deadLettered(), f.flowId() + " sent records to its DLQ"));
        }
    }

    @Test
    void restartingRunnersMidStreamLosesAndDuplicatesNothing() {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            dp.startEverything();
            int chunks = 4;
            for (int c = 0; c < chunks; c++) {
                dp.produceUserActivity(UA_0_0, c * N / chunks, (c + 1) * N / chunks);
                dp.produceUserActivity(UA_0_1, c * M / chunks, (c + 1) * M / chunks);
                switch (c) {
                    case 0 -> {
                        // Clean stop and start of a whole flow while its input is moving.
                        FlowRunner regular = dp.flows().get(0);
                        DataPlaneFixture.join(regular.stop());
                        regular.start(dp.owner);
                    }
                    case 1 -> {
                        // Hard failures: a run dies mid-transaction or mid-batch and restarts with backoff.
                        dp.flows().forEach(f -> f.failHop(Hop.TRANSFORM, new IllegalStateException("injected crash")));
                        dp.flows().get(2).failHop(Hop.TO_TABLE, new IllegalStateException("injected crash"));
                        dp.syncs().forEach(s -> s.failCurrentRun(new IllegalStateException("injected crash")));
                    }
                    case 2 -> {
                        TableSyncRunner sync = dp.syncs().get(0);
                        DataPlaneFixture.join(sync.stop());
                        sync.start(dp.owner);
                        dp.flows().forEach(f -> f.failHop(Hop.COPY_IN, new IllegalStateException("injected crash")));
                    }
                    default -> {
                    }
                }
            }
            assertExactlyOnce(dp, N, M);
        }
    }

    @Test
    void clickhouseDownForTwentySecondsLosesAndDuplicatesNothingAndSinksRecover() throws Exception {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            dp.startEverything();
            dp.produceUserActivity(UA_0_0, 0, N / 2);
            dp.produceUserActivity(UA_0_1, 0, M / 2);
            await("first rows in every table", LANDING, () -> Stream.of(UA_0_0, UA_0_1, PA_0_0, PA_0_1).allMatch(v -> dp.count(v) > 0),
                    () -> counts(dp).toString());

            Infra.get().stop("clickhouse");
            try {
                dp.produceUserActivity(UA_0_0, N / 2, N);
                dp.produceUserActivity(UA_0_1, M / 2, M);
                await("a sink to notice the outage", Duration.ofSeconds(20),
                        () -> sinkStatuses(dp).anyMatch(s -> s.state() == HopState.RESTARTING), () -> sinkStatuses(dp).toList().toString());
                Thread.sleep(Duration.ofSeconds(20).toMillis()); // the outage itself: 20 s without ClickHouse
            } finally {
                Infra.get().start("clickhouse");
            }

            assertExactlyOnce(dp, N, M);
            await("every sink running again with no error left", Duration.ofSeconds(30),
                    () -> sinkStatuses(dp).allMatch(s -> s.state() == HopState.RUNNING && s.lastError().isEmpty()),
                    () -> sinkStatuses(dp).toList().toString());
        }
    }

    private static Stream<HopStatus> sinkStatuses(DataPlaneFixture dp) {
        return Stream.concat(dp.syncs().stream().map(TableSyncRunner::status),
                dp.flows().stream().flatMap(f -> f.status().hops().stream()).filter(h -> h.hop().equals(Hop.TO_TABLE.id())));
    }

    private static Map<String, Long> counts(DataPlaneFixture dp) {
        return Map.of("UA_0_0", dp.count(UA_0_0), "UA_0_1", dp.count(UA_0_1), "PA_0_0", dp.count(PA_0_0), "PA_0_1", dp.count(PA_0_1));
    }

    private static void assertExactlyOnce(DataPlaneFixture dp, int n, int m) {
        Map<String, Long> expected = Map.of("UA_0_0", (long) n, "UA_0_1", (long) n + m, "PA_0_0", (long) n, "PA_0_1", (long) n + m);
        await("exact counts " + expected, LANDING, () -> {
            try {
                return counts(dp).equals(expected);
            } catch (RuntimeException clickhouseStillStarting) {
                return false;
            }
        }, () -> counts(dp) + " " + dp.flows().stream().map(FlowRunner::status).toList());
        for (var v : List.of(UA_0_0, UA_0_1, PA_0_0, PA_0_1)) {
            assertEquals(0, dp.duplicateCoordinates(v), v + " has a source coordinate twice");
        }
        // Nothing more arrives later: a late duplicate would show up as a count above the expected one.
        dp.syncs().forEach(s -> assertTrue(s.status().lag() >= 0 || s.status().lag() == -1));
        assertEquals(expected, counts(dp));
    }
}
