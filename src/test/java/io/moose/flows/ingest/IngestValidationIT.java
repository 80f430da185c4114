package io.moose.flows.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.testing.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What POST /ingest refuses before anything is written, on a real node (Kafka, ClickHouse): a body
 * that says it is not JSON, nesting past the configured limit, numbers a Float64 cannot hold, text
 * that is not UTF-8 or not Unicode; and that what it answers 200 for, its table stores, row for row.
 */
class IngestValidationIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DEFINITION = """
            models = [{ name = Reading, versions = [{ version = "0.1", columns = [
              { name = id, type = String }
              { name = value, type = Float64 }
              { name = note, type = String, default = "" }
            ] }] }]
            flows = []
            """;
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static TestNode node;

    @BeforeAll
    static void startNode() throws Exception {
        node = TestNode.start(DEFINITION, "moose-flows.ingest.max-nesting-depth = 8");
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.clickhouse.query("DROP DATABASE IF EXISTS " + node.namespace).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            node.close();
        }
    }

    @Test
    void anExplicitContentTypeThatIsNotJsonGets415AndNoneOrJsonIsAccepted() throws Exception {
        String record = "{\"id\":\"ct-%s\",\"value\":1}";
        for (String type : List.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/csv")) {
            Reply refused = post(record.formatted("refused").getBytes(StandardCharsets.UTF_8), type);
            assertEquals(415, refused.status, type + ": " + refused.body);
            assertTrue(refused.json().get("error").asText().contains("is not JSON; send application/json"), refused.body);
        }
        assertEquals(200, post(record.formatted("none").getBytes(StandardCharsets.UTF_8), null).status);
        assertEquals(200, post(record.formatted("json").getBytes(StandardCharsets.UTF_8), "application/json").status);
        assertEquals(200, post(record.formatted("json-utf8").getBytes(StandardCharsets.UTF_8), "application/json; charset=UTF-8").status);
        assertEquals(200, post(record.formatted("vendor").getBytes(StandardCharsets.UTF_8), "application/vnd.moose+json").status);
    }

    @Test
    void nestingDeeperThanTheLimitGets400InsteadOfAServerError() throws Exception {
        byte[] deep = ("[".repeat(500_000) + "]".repeat(500_000)).getBytes(StandardCharsets.UTF_8);
        Reply refused = post(deep, "application/json");
        assertEquals(400, refused.status, refused.body);
        assertTrue(refused.json().get("error").asText().contains("deeper than 8 levels (moose-flows.ingest.max-nesting-depth)"), refused.body);

        // Within the limit, a nested value is an ordinary invalid record, named by index and field.
        Reply nested = post("[{\"id\":\"n\",\"value\":1,\"note\":[[[1]]]}]".getBytes(StandardCharsets.UTF_8), null);
        assertEquals(400, nested.status, nested.body);
        assertEquals("note", nested.json().get("problems").get(0).get("field").asText());
    }

    @Test
    void numbersAFloat64CannotHoldAreRefusedNamingIndexAndField() throws Exception {
        for (String number : List.of("1e400", "-1e400", "1" + "0".repeat(400))) {
            Reply refused = post(("[{\"id\":\"ok\",\"value\":1.5},{\"id\":\"big\",\"value\":" + number + "}]").getBytes(StandardCharsets.UTF_8), null);
            assertEquals(400, refused.status, refused.body);
            JsonNode problem = refused.json().get("problems").get(0);
            assertEquals(1, problem.get("index").asInt(), refused.body);
            assertEquals("value", problem.get("field").asText(), refused.body);
            assertTrue(problem.get("problem").asText().startsWith("expected a finite number"), refused.body);
        }
    }

    @Test
    void textThatIsNotUtf8OrNotUnicodeIsRefused() throws Exception {
        byte[] overlong = {(byte) 0xC0, (byte) 0xAF};
        byte[] cesu = {(byte) 0xED, (byte) 0xA0, (byte) 0x80};
        for (byte[] bad : List.of(overlong, cesu)) {
            Reply refused = post(withNote(bad), null);
            assertEquals(400, refused.status, refused.body);
            assertTrue(refused.json().get("error").asText().startsWith("invalid UTF-8 at byte offset 30"), refused.body);
        }
        for (String escaped : List.of("\\ud800", "x\\udc00", "\\ude00\\ud83d")) {
            Reply refused = post(withNote(escaped.getBytes(StandardCharsets.UTF_8)), null);
            assertEquals(400, refused.status, refused.body);
            JsonNode problem = refused.json().get("problems").get(0);
            assertEquals("note", problem.get("field").asText(), refused.body);
            assertTrue(problem.get("problem").asText().startsWith("not valid Unicode: an unpaired surrogate"), refused.body);
        }
        Reply badName = post("{\"id\":\"x\",\"value\":1,\"\\ud800\":1}".getBytes(StandardCharsets.UTF_8), null);
        assertEquals(400, badName.status, badName.body);
        assertEquals("\\ud800", badName.json().get("problems").get(0).get("field").asText(), badName.body);
    }

    @Test
    void whatIngestAccepts200ForTheTableStoresRowForRow() throws Exception {
        List<String> records = List.of(
                "{\"id\":\"edge-max\",\"value\":1.7976931348623157e308}",
                "{\"id\":\"edge-min\",\"value\":-1.7976931348623157e308}",
                "{\"id\":\"edge-tiny\",\"value\":4.9e-324}",
                "{\"id\":\"edge-under\",\"value\":1e-400}",
                "{\"id\":\"edge-bigint\",\"value\":123456789012345678901234567890}",
                "{\"id\":\"edge-pair\",\"value\":0,\"note\":\"\\ud83d\\ude00 \\u00e9\\u4e2d \\u0000 tab\\t\"}",
                "{\"id\":\"edge-raw\",\"value\":-0.0,\"note\":\"\uD83C\uDF89 é中\"}");
        Reply accepted = post(("[" + String.join(",", records) + "]").getBytes(StandardCharsets.UTF_8), "application/json");
        assertEquals(200, accepted.status, accepted.body);
        assertEquals(records.size(), accepted.json().get("accepted").asInt());

        String table = node.namespace + ".Reading_0_1";
        long deadline = System.nanoTime() + WAIT.toNanos();
        long rows = 0;
        while (System.nanoTime() < deadline) {
            rows = Long.parseLong(node.clickhouse.query("SELECT count() FROM " + table + " WHERE startsWith(id, 'edge-')")
                    .toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS).get(0).get(0));
            if (rows == records.size()) {
                break;
            }
            Thread.sleep(200);
        }
        assertEquals(records.size(), rows, "every accepted record stored");
        List<List<String>> stored = node.clickhouse.query("SELECT id, toString(value), note FROM " + table
                + " WHERE startsWith(id, 'edge-') ORDER BY id").toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(List.of("edge-bigint", "edge-max", "edge-min", "edge-pair", "edge-raw", "edge-tiny", "edge-under"),
                stored.stream().map(r -> r.get(0)).toList());
        assertEquals("1.7976931348623157e308", stored.get(1).get(1));
        assertEquals("\uD83D\uDE00 é中 \u0000 tab\t", stored.get(3).get(2));
        assertEquals("\uD83C\uDF89 é中", stored.get(4).get(2));
        for (List<String> row : stored) {
            assertTrue(!row.get(1).contains("inf") && !row.get(1).contains("nan"), row.toString());
        }
    }

    // ---- helpers

    private record Reply(int status, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                return fail("not JSON: " + body);
            }
        }
    }

    /** A record whose note holds {@code raw} as is: the note's text starts at byte offset 30. */
    private static byte[] withNote(byte[] raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write("{\"id\":\"utf\",\"value\":1,\"note\":\"".getBytes(StandardCharsets.UTF_8));
        out.write(raw);
        out.write("\"}".getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    private static Reply post(byte[] body, String contentType) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node.ingestUrl() + "/ingest/Reading/0.1")).timeout(WAIT)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(response.statusCode(), response.body());
    }
}
