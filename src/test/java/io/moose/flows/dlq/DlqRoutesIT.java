package io.moose.flows.dlq;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.moose.flows.admin.AdminCliRunner;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.IngestClient;
import io.moose.flows.testing.TableCounts;
import io.moose.flows.testing.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.moose.flows.dlq.DlqTestSupport.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GET /flows/{id}/dlq and POST /flows/{id}/dlq/replay on one real node, and `moose dlq` / `moose
 * replay` against them: the listing's errors and source coordinates, the token and the audit line,
 * bad parameters, a replay through the fixed transform (re-failures back in the DLQ with the new
 * error), and --since passing older dead letters over.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DlqRoutesIT {

    private static final String FLOW = "UserActivity_0_0_ParsedActivity_0_0";
    private static final String TOKEN = "test-token";
    private static final int RECORDS = 100;
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final ListAppender<ILoggingEvent> AUDIT = new ListAppender<>();

    private static Path fixed;
    private static TestNode node;
    private static TableCounts tables;

    @BeforeAll
    static void startNode() throws Exception {
        fixed = Files.createTempDirectory("dlq-routes-").resolve("fixed");
        System.setProperty(RejectsUntilFixed.MARKER_PROPERTY, fixed.toString());
        AUDIT.start();
        ((Logger) LoggerFactory.getLogger(io.moose.flows.admin.AdminRoutes.AUDIT_LOGGER)).addAppender(AUDIT);
        node = TestNode.start(Files.readString(Infra.repoRoot().resolve("src/test/resources/dlq/project.conf")),
                "moose-flows.dlq.list-limit = 5");
        new IngestClient(node.ingestUrl()).ingestUserActivity("0.0", "route", RECORDS, RECORDS);
        tables = new TableCounts(node.clickhouse);
        TableCounts.await("the accepted records in the table", WAIT, () -> tables.rows("ParsedActivity_0_0") == RECORDS - 10,
                () -> tables.rows("ParsedActivity_0_0") + " rows");
        TableCounts.await("the ten dead letters listed", WAIT, () -> listing(50).get("deadLetters").size() == 10,
                () -> listing(50).toString());
    }

    @AfterAll
    static void stopNode() throws Exception {
        ((Logger) LoggerFactory.getLogger(io.moose.flows.admin.AdminRoutes.AUDIT_LOGGER)).detachAppender(AUDIT);
        System.clearProperty(RejectsUntilFixed.MARKER_PROPERTY);
        if (node != null) {
            node.close();
        }
    }

    @Test
    @Order(1)
    void theListingShowsEachDeadLetterWithItsErrorSourceCoordinatesAndValue() {
        JsonNode all = listing(50);
        assertEquals(node.names.deadLetter(FLOW), all.get("topic").asText());
        assertEquals("none", all.get("replay").get("state").asText(), all.toString());
        assertTrue(all.get("total").asLong() >= 10, all.toString());
        List<Integer> numbers = new ArrayList<>();
        for (JsonNode d : all.get("deadLetters")) {
            int n = RejectsUntilFixed.number(d.get("value").asText().replaceAll(".*\"eventId\":\"([^\"]+)\".*", "$1"));
            numbers.add(n);
            assertEquals("transform", d.get("stage").asText());
            assertEquals(IllegalArgumentException.class.getName(), d.get("errorClass").asText());
            assertEquals("record " + n + " is a multiple of 10", d.get("errorMessage").asText());
            assertEquals(node.names.flowInput(FLOW), d.get("sourceTopic").asText());
            assertTrue(d.get("sourcePartition").asInt() >= 0 && d.get("sourceOffset").asLong() >= 0, d.toString());
            assertEquals(0, d.get("replays").asInt());
            assertFalse(d.get("replayed").asBoolean());
            assertFalse(d.get("valueTruncated").asBoolean());
        }
        assertEquals(List.of(0, 10, 20, 30, 40, 50, 60, 70, 80, 90), numbers.stream().sorted().toList());
        assertEquals(5, send("GET", url("/dlq"), null).json().get("deadLetters").size(), "moose-flows.dlq.list-limit");
    }

    @Test
    @Order(2)
    void badParametersAndUnknownFlowsAreRefusedNamingThem() {
        for (String limit : List.of("0", "abc", "1001")) {
            DlqTestSupport.Reply reply = send("GET", url("/dlq?limit=" + limit), null);
            assertEquals(400, reply.status(), reply.body());
            assertTrue(reply.json().get("error").asText().startsWith("limit: expected a whole number from 1 to 1000"), reply.body());
        }
        DlqTestSupport.Reply since = send("POST", url("/dlq/replay?since=yesterday"), TOKEN);
        assertEquals(400, since.status(), since.body());
        assertTrue(since.json().get("error").asText().contains("since: expected an ISO-8601 instant"), since.body());
        assertEquals(404, send("GET", node.adminUrl() + "/flows/Nope_0_1/dlq", null).status());
        assertEquals(404, send("GET", node.adminUrl() + "/flows/UserActivity_0_0/dlq", null).status(), "a table sync has no DLQ");
        assertEquals(404, send("POST", node.adminUrl() + "/flows/Nope_0_1/dlq/replay", TOKEN).status());
    }

    @Test
    @Order(3)
    void aReplayWithoutTheTokenOrWithAWrongOneIsRefusedAuditedAndReplaysNothing() {
        DlqTestSupport.Reply missing = send("POST", url("/dlq/replay"), null);
        assertEquals(401, missing.status(), missing.body());
        assertEquals("Bearer realm=\"moose-flows admin\"", missing.response().headers().firstValue("WWW-Authenticate").orElse(""));
        assertEquals(401, send("POST", url("/dlq/replay"), "wrong-" + TOKEN).status());
        assertEquals("none", listing(50).get("replay").get("state").asText());
        assertTrue(auditLines().contains("admin write POST /flows/" + FLOW + "/dlq/replay -> 401 from 127.0.0.1"), auditLines().toString());
        // The path without the query, as for every admin write.
        assertTrue(auditLines().contains("admin write POST /flows/" + FLOW + "/dlq/replay -> 400 from 127.0.0.1"), auditLines().toString());
        auditLines().forEach(line -> assertFalse(line.contains(TOKEN), line));
    }

    @Test
    @Order(4)
    void theCliListsDeadLettersAndReplaysThemThroughTheFixedTransform() throws Exception {
        AdminCliRunner.Result list = AdminCliRunner.run("--url", node.adminUrl(), "dlq", FLOW, "--limit", "50");
        assertEquals(0, list.status(), list.err());
        assertTrue(list.out().contains("IllegalArgumentException: record 90 is a multiple of 10"), list.out());
        assertTrue(list.out().contains(node.names.flowInput(FLOW) + ":"), list.out());
        assertTrue(list.out().contains("10 shown"), list.out());
        assertTrue(list.out().contains("no replay yet"), list.out());
        assertEquals(2, AdminCliRunner.run("--url", node.adminUrl(), "dlq", FLOW, "--since", "1h").status(), "--since goes with replay");
        assertEquals(2, AdminCliRunner.run("--url", node.adminUrl(), "replay", FLOW, "--since", "soon").status());
        assertEquals(4, AdminCliRunner.run("--url", node.adminUrl(), "replay", FLOW).status(), "the token is needed");

        Files.writeString(fixed, "deployed");
        AdminCliRunner.Result replay = AdminCliRunner.run("--url", node.adminUrl(), "--token", TOKEN, "--interval", "0.2", "replay", FLOW);
        assertEquals(0, replay.status(), replay.out() + replay.err());
        assertTrue(replay.out().contains(": finished; 6 written to the output, 4 failed again (back in the DLQ), 0 passed over, 0 to go"),
                replay.out());

        TableCounts.await("the six fixed records in the table", WAIT, () -> tables.rows("ParsedActivity_0_0") == RECORDS - 4,
                () -> tables.rows("ParsedActivity_0_0") + " rows");
        assertEquals(0, tables.duplicateEvents("ParsedActivity_0_0"));
        JsonNode after = listing(50);
        assertEquals(14, after.get("deadLetters").size(), after.toString());
        int again = 0;
        for (JsonNode d : after.get("deadLetters")) {
            if (d.get("replays").asInt() == 1) {
                again++;
                int n = RejectsUntilFixed.number(d.get("value").asText().replaceAll(".*\"eventId\":\"([^\"]+)\".*", "$1"));
                assertEquals(0, n % 30, d.toString());
                assertEquals(IllegalStateException.class.getName(), d.get("errorClass").asText());
                assertEquals("record " + n + " still fails after the fix", d.get("errorMessage").asText());
                assertEquals(node.names.flowInput(FLOW), d.get("sourceTopic").asText());
                assertFalse(d.get("replayed").asBoolean(), "a re-failure waits for the next replay");
            } else {
                assertTrue(d.get("replayed").asBoolean(), d.toString());
            }
        }
        assertEquals(4, again);
        String metrics = send("GET", node.adminUrl() + "/metrics", null).body();
        assertTrue(metrics.contains("moose_dlq_replayed_total{flow=\"" + FLOW + "\",} 6.0"), metrics);
        assertTrue(metrics.contains("moose_dlq_replay_failed_total{flow=\"" + FLOW + "\",} 4.0"), metrics);
    }

    @Test
    @Order(5)
    void aReplaySinceATimePassesOverOlderDeadLetters() {
        AdminCliRunner.Result replay = AdminCliRunner.run("--url", node.adminUrl(), "--token", TOKEN, "--interval", "0.2",
                "replay", FLOW, "--since", "2099-01-01T00:00:00Z");
        assertEquals(0, replay.status(), replay.out() + replay.err());
        assertTrue(replay.out().contains("(dead letters since 2099-01-01T00:00:00Z): finished; 0 written to the output, 0 failed again"
                + " (back in the DLQ), 4 passed over, 0 to go"), replay.out());
        for (JsonNode d : listing(50).get("deadLetters")) {
            assertTrue(d.get("replayed").asBoolean(), d.toString());
        }
        assertEquals(RECORDS - 4, tables.rows("ParsedActivity_0_0"));
    }

    @Test
    @Order(6)
    void onANodeWithoutATokenBothRoutesAre403WhenReadsAreProtected() throws Exception {
        try (TestNode guarded = TestNode.start(Files.readString(Infra.repoRoot().resolve("src/test/resources/dlq/project.conf")), """
                moose-flows.admin.token = ""
                moose-flows.admin.protect-reads = on
                """)) {
            TableCounts.await("the guarded node's admin port answering", WAIT,
                    () -> send("GET", guarded.adminUrl() + "/health/alive", null).status() == 200, () -> "");
            DlqTestSupport.Reply read = send("GET", guarded.adminUrl() + "/flows/" + FLOW + "/dlq", "anything");
            assertEquals(403, read.status(), read.body());
            DlqTestSupport.Reply replay = send("POST", guarded.adminUrl() + "/flows/" + FLOW + "/dlq/replay", "anything");
            assertEquals(403, replay.status(), replay.body());
            assertTrue(replay.json().get("error").asText().contains("no admin token is configured"), replay.body());
        }
    }

    private static String url(String rest) {
        return node.adminUrl() + "/flows/" + FLOW + rest;
    }

    private static JsonNode listing(int limit) {
        DlqTestSupport.Reply reply = send("GET", url("/dlq?limit=" + limit), null);
        assertEquals(200, reply.status(), reply.body());
        return reply.json();
    }

    private static List<String> auditLines() {
        synchronized (AUDIT) {
            return AUDIT.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }
}
