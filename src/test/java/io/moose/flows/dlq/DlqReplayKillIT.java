package io.moose.flows.dlq;

import com.fasterxml.jackson.databind.JsonNode;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.flow.TransformStep;
import io.moose.flows.model.TopicNames;
import io.moose.flows.testing.ClusterProcesses;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.IngestClient;
import io.moose.flows.testing.TableCounts;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.moose.flows.dlq.DlqTestSupport.countByEventId;
import static io.moose.flows.dlq.DlqTestSupport.header;
import static io.moose.flows.dlq.DlqTestSupport.readAll;
import static io.moose.flows.dlq.DlqTestSupport.send;
import static io.moose.flows.dlq.DlqTestSupport.source;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 13 item 5: a DLQ replay whose node process is SIGKILLed in the middle, restarted, and asked
 * to replay again. The replay is throttled (max-records-per-second) so the kill lands while it runs,
 * after some of its transactions committed and (almost always) with one open. Every dead letter the
 * fixed transform now accepts must be in the output topic, and in the table, exactly once; every one
 * it still rejects must be back in the DLQ exactly once with the new error and its original source
 * coordinates; nothing the flow itself delivered is doubled.
 */
class DlqReplayKillIT {

    private static final int RECORDS = 3000;
    private static final String PREFIX = "replay";
    private static final String FLOW = "UserActivity_0_0_ParsedActivity_0_0";
    /**
     * Dead letters per second the replay may send: 300 take 30 s, so on a busy machine, where one
     * status request can take seconds, the kill still lands well inside the replay.
     */
    private static final int RATE = 10;
    private static final Duration WAIT = Duration.ofMinutes(3);

    @Test
    void aReplayKilledMidwayAndRunAgainWritesEachFixedDeadLetterOnceAndPutsEachRefailureBackOnce() throws Exception {
        Path state = Files.createTempDirectory("dlq-replay-");
        Path fixed = state.resolve("fixed");
        String options = String.join(" ",
                "-D" + RejectsUntilFixed.MARKER_PROPERTY + "=" + fixed,
                "-Dmoose-flows.dlq.replay.max-records-per-second=" + RATE,
                "-Dmoose-flows.dlq.replay.commit-interval=300ms");
        String definition = Files.readString(Infra.repoRoot().resolve("src/test/resources/dlq/project.conf"));
        try (ClusterProcesses cluster = ClusterProcesses.create(definition, 400, options).withTestClasses()) {
            cluster.readyTimeout(Duration.ofMinutes(5));
            cluster.up(1);
            TopicNames names = TopicNames.withNamespace(cluster.namespace);
            String admin = cluster.adminUrl(1);
            new IngestClient(cluster.ingestUrl(1)).ingestUserActivity("0.0", PREFIX, RECORDS, 500);

            int rejected = (int) range().filter(RejectsUntilFixed::rejectedAtFirst).count();
            int stillRejected = (int) range().filter(RejectsUntilFixed::rejectedAfterTheFix).count();
            try (ClickHouse clickhouse = TableCounts.connect(cluster.namespace)) {
                TableCounts tables = new TableCounts(clickhouse);
                TableCounts.await("every accepted record in the table", WAIT,
                        () -> tables.rows("ParsedActivity_0_0") == RECORDS - rejected, () -> tables.rows("ParsedActivity_0_0") + " rows");
                List<ConsumerRecord<byte[], byte[]>> firstDeadLetters = readAll(names.deadLetter(FLOW), "read_committed");
                assertEquals(rejected, firstDeadLetters.size());
                Map<String, String> sourceOf = new HashMap<>();
                firstDeadLetters.forEach(d -> sourceOf.put(DlqTestSupport.eventId(d), source(d)));

                // The fix is deployed; the replay starts and is killed with the node once part of it committed.
                Files.writeString(fixed, "deployed");
                DlqTestSupport.Reply started = send("POST", admin + "/flows/" + FLOW + "/dlq/replay", ClusterProcesses.ADMIN_TOKEN);
                assertEquals(202, started.status(), started.body());
                assertEquals("running", started.json().get("state").asText(), started.body());
                // Counted in offsets: the flow's transaction markers in the DLQ count too.
                assertTrue(started.json().get("remaining").asLong() >= rejected, started.body());
                String id = started.json().get("id").asText();
                TableCounts.await("a tenth of the replay committed", WAIT, () -> done(replay(admin)) >= rejected / 10,
                        () -> replay(admin).toString());
                JsonNode beforeKill = replay(admin);
                System.out.println(cluster.kill(1));
                assertTrue(beforeKill.get("remaining").asLong() > rejected / 3, "killed mid-way: " + beforeKill);
                System.out.println("DLQ replay killed at " + beforeKill);

                cluster.start(1);
                JsonNode interrupted = replay(admin);
                assertEquals("interrupted", interrupted.get("state").asText(), interrupted.toString());
                assertEquals(id, interrupted.get("id").asText());
                assertTrue(done(interrupted) >= done(beforeKill), interrupted + " after " + beforeKill);

                DlqTestSupport.Reply resumed = send("POST", admin + "/flows/" + FLOW + "/dlq/replay", ClusterProcesses.ADMIN_TOKEN);
                assertEquals(202, resumed.status(), resumed.body());
                assertTrue(resumed.json().get("resumed").asBoolean(), resumed.body());
                assertEquals(id, resumed.json().get("id").asText(), resumed.body());
                TableCounts.await("the resumed replay finished", WAIT, () -> "finished".equals(replay(admin).get("state").asText()),
                        () -> replay(admin).toString());
                JsonNode finished = replay(admin);
                assertEquals(rejected - stillRejected, finished.get("written").asLong(), finished.toString());
                assertEquals(stillRejected, finished.get("failedAgain").asLong(), finished.toString());
                assertEquals(0, finished.get("remaining").asLong(), finished.toString());

                // The output topic: every record exactly once, the fixed dead letters included, the still-rejected absent.
                List<ConsumerRecord<byte[], byte[]>> output = readAll(names.flowOutput(FLOW), "read_committed");
                Map<String, Integer> outputCounts = countByEventId(output);
                for (int n = 0; n < RECORDS; n++) {
                    int expected = RejectsUntilFixed.rejectedAfterTheFix(n) ? 0 : 1;
                    assertEquals(expected, outputCounts.getOrDefault(PREFIX + "-" + n, 0), "record " + n + " in the output topic");
                }
                assertEquals(RECORDS - stillRejected, output.size());
                int uncommitted = readAll(names.flowOutput(FLOW), "read_uncommitted").size();
                System.out.println("output topic: " + output.size() + " committed records, " + (uncommitted - output.size())
                        + " more in aborted transactions (the killed replay's open one)");

                // The DLQ: the first dead letters, then each still-rejected one once more, with the new error and its source.
                List<ConsumerRecord<byte[], byte[]>> dlq = readAll(names.deadLetter(FLOW), "read_committed");
                List<ConsumerRecord<byte[], byte[]>> again = dlq.stream().filter(d -> header(d, TransformStep.ERROR_REPLAYS) != null).toList();
                assertEquals(rejected + stillRejected, dlq.size());
                Map<String, Integer> againCounts = countByEventId(again);
                for (int n = 0; n < RECORDS; n++) {
                    assertEquals(RejectsUntilFixed.rejectedAfterTheFix(n) ? 1 : 0, againCounts.getOrDefault(PREFIX + "-" + n, 0),
                            "record " + n + " back in the DLQ");
                }
                for (ConsumerRecord<byte[], byte[]> d : again) {
                    String eventId = DlqTestSupport.eventId(d);
                    int n = RejectsUntilFixed.number(eventId);
                    assertEquals("1", header(d, TransformStep.ERROR_REPLAYS));
                    assertEquals(IllegalStateException.class.getName(), header(d, TransformStep.ERROR_CLASS));
                    assertEquals("record " + n + " still fails after the fix", header(d, TransformStep.ERROR_MESSAGE));
                    assertEquals(sourceOf.get(eventId), source(d), "source coordinates of " + eventId);
                }

                // And the table downstream: every fixed record once, nothing doubled.
                TableCounts.await("the replayed records in the table", WAIT,
                        () -> tables.rows("ParsedActivity_0_0") == RECORDS - stillRejected, () -> tables.rows("ParsedActivity_0_0") + " rows");
                assertEquals(0, tables.duplicateEvents("ParsedActivity_0_0"));
                assertEquals(0, tables.duplicateCoordinates("ParsedActivity_0_0"));
            }
        }
    }

    private static java.util.stream.IntStream range() {
        return java.util.stream.IntStream.range(0, RECORDS);
    }

    private static JsonNode replay(String admin) {
        DlqTestSupport.Reply reply = send("GET", admin + "/flows/" + FLOW + "/dlq?limit=1", null);
        assertEquals(200, reply.status(), reply.body());
        return reply.json().get("replay");
    }

    private static long done(JsonNode replay) {
        return replay.get("written").asLong() + replay.get("failedAgain").asLong();
    }
}
