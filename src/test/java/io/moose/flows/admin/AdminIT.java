package io.moose.flows.admin;

import akka.actor.typed.ActorSystem;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.moose.flows.node.Node;
import io.moose.flows.node.NodeConfig;
import io.moose.flows.node.NodeExtension;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.ClickHouseSettings;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.testing.Infra;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The admin routes and the CLI against one real node (in this JVM) on the real Kafka, ClickHouse
 * and an H2 journal, in a namespace and database of its own. The apply test runs last: it changes
 * the definition the other tests assume.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdminIT {

    private static final String TOKEN = "it-token";
    private static final Path PROJECT = Path.of("conf/project.conf");
    private static final Path WITH_02 = Path.of("src/test/resources/admin/project-0.2.conf");
    private static final Path NARROWING = Path.of("src/test/resources/admin/project-0.2-narrowing.conf");
    private static final String MIGRATION_02 = "UserActivity_0_1_UserActivity_0_2";
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final Duration PROBE_INTERVAL = Duration.ofMillis(200);
    private static final int BATCH = 1000;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static String namespace;
    private static Path journalDir;
    private static ActorSystem<Node.Command> system;
    private static ClickHouse clickhouse;
    private static String admin;
    private static String ingest;
    /** Records this class ingested into UserActivity 0.1, the table sync's and flow's expected hop counters. */
    private static long ingestedInto01;

    @BeforeAll
    static void startNode() throws Exception {
        Infra infra = Infra.get();
        namespace = Infra.uniqueName("admin");
        journalDir = Files.createTempDirectory(namespace);
        int adminPort = freePort();
        Map<String, Object> settings = new HashMap<>();
        settings.put("moose-flows.kafka.bootstrap-servers", infra.kafkaBootstrap());
        settings.put("moose-flows.clickhouse.url", infra.clickhouseUrl());
        settings.put("moose-flows.clickhouse.database", namespace);
        settings.put("moose-flows.namespace", namespace);
        settings.put("moose-flows.journal.url", "jdbc:h2:file:" + journalDir.resolve("journal") + ";DB_CLOSE_DELAY=-1");
        settings.put("moose-flows.admin.port", adminPort);
        Config config = NodeConfig.load(ConfigFactory.parseString("""
                akka.coordinated-shutdown.exit-jvm = off
                akka.management.http.hostname = "127.0.0.1"
                moose-flows.admin.token = "%s"
                moose-flows.node.remote-port = 0
                moose-flows.ingest.interface = "127.0.0.1"
                moose-flows.ingest.port = 0
                # Small batches and chunks: tables fill within a fraction of a second, and a
                # migration of a few thousand rows still takes several checkpoints.
                moose-flows.sync.linger = 200ms
                moose-flows.migration.chunk-size = 2000
                """.formatted(TOKEN)).withFallback(ConfigFactory.parseMap(settings)));
        system = Node.start(config, ProjectDefinitionLoader.load(PROJECT), Files.readString(PROJECT), PROJECT.toString());
        int ingestPort = NodeExtension.get(system).services().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS)
                .ingest().port();
        admin = "http://127.0.0.1:" + adminPort;
        ingest = "http://127.0.0.1:" + ingestPort;
        clickhouse = ClickHouse.connect(ClickHouseSettings.from(config));
        await("every flow and table sync running", () -> get("/flows"),
                flows -> flows.status == 200 && allRunning(flows.json.get("flows")));
        // The example's migrations have nothing to load in a fresh namespace; they finish at once.
        await("every migration done", () -> get("/migrations"), r -> r.status == 200
                && r.json.get("migrations").findValuesAsText("phase").stream().allMatch("done"::equals));
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (system != null) {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }
        if (clickhouse != null) {
            clickhouse.query("DROP DATABASE IF EXISTS " + namespace).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
            clickhouse.close();
        }
    }

    // ---- routes

    @Test
    @Order(1)
    void flowsListsEveryFlowAndTableSyncWithKindStateNodeAndHops() throws Exception {
        JsonNode flows = expect(200, get("/flows")).get("flows");
        Map<String, JsonNode> byId = new HashMap<>();
        flows.forEach(f -> byId.put(f.get("id").asText(), f));
        assertEquals(8, byId.size(), flows.toString());
        assertEquals("regular", byId.get("UserActivity_0_0_ParsedActivity_0_0").get("kind").asText());
        assertEquals("migration", byId.get("UserActivity_0_0_UserActivity_0_1").get("kind").asText());
        assertEquals("UserActivity/0.0", byId.get("UserActivity_0_0_UserActivity_0_1").get("source").asText());
        JsonNode sync = byId.get("UserActivity_0_1");
        assertEquals("table-sync", sync.get("kind").asText());
        assertEquals(namespace + ".UserActivity_0_1", sync.get("source").asText());
        assertEquals("`" + namespace + "`.`UserActivity_0_1`", sync.get("target").asText());
        assertTrue(sync.get("node").asText().startsWith("akka://moose-flows@"), sync.toString());
        assertEquals("table-sync", sync.get("hops").get(0).get("hop").asText());
        for (String field : List.of("records", "ratePerSecond", "lag", "deadLetters", "lastError")) {
            assertTrue(sync.get("hops").get(0).has(field), field + " in " + sync);
        }

        JsonNode flow = expect(200, get("/flows/UserActivity_0_1_ParsedActivity_0_1"));
        assertEquals(List.of("copy-in", "transform", "copy-out"), hopNames(flow));
        assertEquals(0, flow.get("deadLetters").asLong());
    }

    @Test
    @Order(2)
    void anUnknownFlowOrMigrationIsNotFound() throws Exception {
        assertTrue(expect(404, get("/flows/Nope_0_1")).get("error").asText().contains("Nope_0_1"));
        expect(404, post("/flows/Nope_0_1/pause", "", TOKEN));
        expect(404, post("/flows/Nope_0_1/resume", "", TOKEN));
        expect(404, get("/migrations/UserActivity_0_0_ParsedActivity_0_0"));
    }

    @Test
    @Order(3)
    void changesWithoutTheTokenOrWithAWrongOneAreRefusedAndChangeNothing() throws Exception {
        Reply missing = post("/flows/UserActivity_0_1/pause", "", null);
        expect(401, missing);
        assertEquals("Bearer realm=\"moose-flows admin\"", missing.headers.firstValue("WWW-Authenticate").orElse(""));
        expect(401, post("/flows/UserActivity_0_1/pause", "", "wrong-" + TOKEN));
        expect(401, post("/flows/UserActivity_0_1/resume", "", "wrong-" + TOKEN));
        expect(401, post("/project/apply", Files.readString(WITH_02), null));
        assertEquals("running", expect(200, get("/flows/UserActivity_0_1")).get("state").asText());
        assertFalse(expect(200, get("/project")).get("text").asText().contains("0.2"), "nothing applied");
    }

    @Test
    @Order(4)
    void migrationsShowPhaseRowsRateEtaAndCut() throws Exception {
        JsonNode migrations = expect(200, get("/migrations")).get("migrations");
        assertEquals(2, migrations.size(), migrations.toString());
        JsonNode one = expect(200, get("/migrations/UserActivity_0_0_UserActivity_0_1"));
        assertEquals("done", one.get("phase").asText(), one.toString());
        assertEquals(100.0, one.get("percent").asDouble());
        for (String field : List.of("rowsToLoad", "rowsLoaded", "rowsPerSecond", "etaSeconds", "lastCheckpoint", "checkpointAt", "node")) {
            assertTrue(one.has(field), field + " in " + one);
        }
        assertTrue(one.get("cut").has(namespace + ".UserActivity_0_0"), one.toString());
    }

    @Test
    @Order(5)
    void projectShowsTheDefinitionInForceWithEveryDerivedTopicAndTable() throws Exception {
        JsonNode project = expect(200, get("/project"));
        assertEquals(Files.readString(PROJECT), project.get("text").asText());
        assertEquals(PROJECT.toString(), project.get("source").asText());
        assertTrue(contains(project.get("tables"), "`" + namespace + "`.`ParsedActivity_0_1`"), project.get("tables").toString());
        for (String topic : List.of("UserActivity_0_0", "UserActivity_0_1_ParsedActivity_0_1_input",
                "UserActivity_0_1_ParsedActivity_0_1_output", "UserActivity_0_1_ParsedActivity_0_1_dlq")) {
            assertTrue(contains(project.get("topics"), namespace + "." + topic), topic + " in " + project.get("topics"));
        }
        JsonNode userActivity = project.get("models").get(0);
        assertEquals("UserActivity", userActivity.get("name").asText());
        assertEquals("unknown", userActivity.get("versions").get(1).get("columns").get(4).get("default").asText());
        assertEquals(4, project.get("flows").size());
    }

    @Test
    @Order(6)
    void planRefusesANarrowedColumnTypeNamingTheColumnAndABodyThatIsNotHocon() throws Exception {
        JsonNode refused = expect(422, post("/project/plan", Files.readString(NARROWING), null));
        assertTrue(refused.get("problems").toString().contains("column 'eventId'"), refused.toString());
        assertTrue(refused.get("problems").toString().contains("narrows"), refused.toString());
        assertTrue(expect(400, post("/project/plan", "models = [ {", null)).get("error").asText().contains("not valid HOCON"));
        expect(400, post("/project/plan", "", null));
        expect(422, post("/project/apply", Files.readString(NARROWING), TOKEN));
    }

    @Test
    @Order(7)
    void pausingATableSyncStopsItsTableWhileIngestContinuesAndResumeCatchesUpExactly() throws Exception {
        ingest("UserActivity/0.0", "pause-a", 100);
        await("the first 100 rows in UserActivity_0_0", () -> count("UserActivity_0_0", "pause-"), n -> n == 100);

        JsonNode paused = expect(200, post("/flows/UserActivity_0_0/pause", "", TOKEN));
        assertEquals("paused", paused.get("state").asText());
        assertEquals("paused", expect(200, post("/flows/UserActivity_0_0/pause", "", TOKEN)).get("state").asText(), "idempotent");

        ingest("UserActivity/0.0", "pause-b", 100);
        // The flow reading the same topic keeps running: once its table has all 200, the paused
        // table has had every chance to grow.
        await("all 200 rows through the running flow", () -> count("ParsedActivity_0_0", "pause-"), n -> n == 200);
        assertEquals(100, count("UserActivity_0_0", "pause-"), "a paused table sync inserts nothing");
        assertEquals("paused", expect(200, get("/flows/UserActivity_0_0")).get("state").asText());

        JsonNode resumed = expect(200, post("/flows/UserActivity_0_0/resume", "", TOKEN));
        assertTrue(List.of("starting", "running").contains(resumed.get("state").asText()), resumed.toString());
        await("the table caught up", () -> count("UserActivity_0_0", "pause-"), n -> n == 200);
        assertEquals(200, scalar("SELECT uniqExact(eventId) FROM " + namespace + ".UserActivity_0_0 WHERE startsWith(eventId, 'pause-')"),
                "no duplicates");
        await("running again", () -> get("/flows/UserActivity_0_0"), r -> "running".equals(r.json.get("state").asText()));
    }

    @Test
    @Order(8)
    void metricsArePrometheusTextWithHopIngestAndMigrationSeries() throws Exception {
        ingest("UserActivity/0.0", "metrics", 1);
        HttpResponse<String> rejected = HTTP.send(HttpRequest.newBuilder(URI.create(ingest + "/ingest/UserActivity/0.0"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"eventId\": 1}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, rejected.statusCode());

        HttpResponse<String> metrics = HTTP.send(HttpRequest.newBuilder(URI.create(admin + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        String text = metrics.body();
        for (String series : List.of("moose_ingest_requests_total{status=\"200\",}", "moose_ingest_requests_total{status=\"400\",}",
                "moose_hop_records_total{", "moose_sink_insert_seconds_count{",
                "moose_migration_rows_loaded{flow=\"UserActivity_0_0_UserActivity_0_1\",}",
                "moose_migration_rows_to_load{flow=\"UserActivity_0_0_UserActivity_0_1\",}",
                "moose_migration_done{flow=\"UserActivity_0_0_UserActivity_0_1\",} 1.0")) {
            assertTrue(text.contains(series), series + " in\n" + text);
        }
    }

    // ---- CLI

    @Test
    @Order(20)
    void cliPrintsFlowsFlowMigrationsAndClusterAsAlignedTables() throws Exception {
        Cli flows = cli("flows");
        assertEquals(0, flows.status, flows.err);
        String header = flows.out.lines().findFirst().orElse("");
        assertTrue(header.matches("ID +KIND +SOURCE +TARGET +STATE +NODE +LAG +RATE/S +DLQ"), header);
        assertEquals(9, flows.out.lines().count(), flows.out);
        assertTrue(flows.out.contains("UserActivity_0_0_ParsedActivity_0_0"), flows.out);
        int stateColumn = header.indexOf("STATE");
        flows.out.lines().skip(1).forEach(line -> assertTrue(line.startsWith("running", stateColumn), line));

        Cli flow = cli("flow", "UserActivity_0_1_ParsedActivity_0_1");
        assertEquals(0, flow.status, flow.err);
        assertTrue(flow.out.contains("HOP        STATE"), flow.out);
        assertTrue(flow.out.contains("copy-out"), flow.out);

        Cli migrations = cli("migrations");
        assertEquals(0, migrations.status, migrations.err);
        assertTrue(migrations.out.startsWith("FLOW "), migrations.out);
        assertTrue(migrations.out.contains("done"), migrations.out);

        Cli cluster = cli("cluster");
        assertEquals(0, cluster.status, cluster.err);
        assertTrue(cluster.out.contains("Up") && cluster.out.contains("leader"), cluster.out);
        for (String type : List.of("Flow ", "TableSync ", "Migration ")) {
            assertTrue(cluster.out.contains("\n" + type), type + " in\n" + cluster.out);
        }

        Cli json = cli("--json", "flows");
        assertEquals(0, json.status, json.err);
        assertEquals(8, AdminJson.MAPPER.readTree(json.out).get("flows").size());
    }

    @Test
    @Order(21)
    void cliExitsWithTheDocumentedStatusForEachFailure() throws Exception {
        Cli noToken = cli("pause", "ParsedActivity_0_0");
        assertEquals(AdminCli.TOKEN_REFUSED, noToken.status);
        assertTrue(noToken.err.contains("token refused"), noToken.err);

        Cli unknown = cli("flow", "Nope_0_1");
        assertEquals(AdminCli.NOT_FOUND, unknown.status);
        assertTrue(unknown.err.contains("Nope_0_1"), unknown.err);

        Cli refused = cli("plan", NARROWING.toString());
        assertEquals(AdminCli.REFUSED, refused.status);
        assertTrue(refused.err.contains("column 'eventId'"), refused.err);

        Cli unreachable = cli("--url", "http://127.0.0.1:" + freePort(), "flows");
        assertEquals(AdminCli.UNREACHABLE, unreachable.status);
        assertTrue(unreachable.err.contains("cannot reach the admin API"), unreachable.err);

        assertEquals(AdminCli.USAGE, cli("frobnicate").status);
        assertEquals(AdminCli.USAGE, cli("flow").status);
    }

    @Test
    @Order(22)
    void cliPausesAndResumesWithTheToken() {
        Cli paused = cli("--token", TOKEN, "pause", "ParsedActivity_0_0");
        assertEquals(0, paused.status, paused.err);
        assertTrue(paused.out.startsWith("ParsedActivity_0_0: paused"), paused.out);
        Cli resumed = cli("--token=" + TOKEN, "resume", "ParsedActivity_0_0");
        assertEquals(0, resumed.status, resumed.err);
        assertTrue(resumed.out.matches("(?s)ParsedActivity_0_0: (starting|running).*"), resumed.out);
    }

    @Test
    @Order(23)
    void wrapperScriptRunsTheCliFromTheJar() throws Exception {
        Process process = new ProcessBuilder("bash", "ops/moose", "--url", admin, "migrations").redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
        assertEquals(0, process.exitValue(), output);
        assertTrue(output.contains("UserActivity_0_0_UserActivity_0_1"), output);
    }

    // ---- apply, last: it changes the definition in force

    @Test
    @Order(100)
    void applyingVersion02OnARunningNodeAddsItsTableTopicsAndMigrationAndRestartsNothing() throws Exception {
        int history = 20 * BATCH;
        ingest("UserActivity/0.1", "hist", history);
        ingestedInto01 += history;
        await("history in UserActivity_0_1", () -> count("UserActivity_0_1", "hist"), n -> n == history);
        awaitHopRecords("UserActivity_0_1", "table-sync", ingestedInto01);
        awaitHopRecords("UserActivity_0_1_ParsedActivity_0_1", "copy-in", ingestedInto01);

        JsonNode plan = expect(200, post("/project/plan", Files.readString(WITH_02), null)).get("plan");
        assertEquals("[\"UserActivity/0.2\"]", plan.get("newVersions").toString());
        assertEquals("[\"UserActivity_0_2\"]", plan.get("newTables").toString());
        assertEquals("[\"" + MIGRATION_02 + "\"]", plan.get("newMigrations").toString());
        for (String topic : List.of("UserActivity_0_2", MIGRATION_02 + "_input", MIGRATION_02 + "_output", MIGRATION_02 + "_dlq")) {
            assertTrue(contains(plan.get("newTopics"), namespace + "." + topic), topic + " in " + plan);
        }

        JsonNode applied = expect(200, post("/project/apply", Files.readString(WITH_02), TOKEN));
        assertTrue(applied.get("applied").asBoolean(), applied.toString());
        assertEquals(Files.readString(WITH_02), expect(200, get("/project")).get("text").asText());
        Cli again = cli("plan", WITH_02.toString());
        assertEquals(0, again.status, again.err);
        assertTrue(again.out.contains("nothing to change"), again.out);

        // Apply answers once the definition is persisted; each node then switches to it on its own,
        // so the migration is known to this node's routes a moment later.
        await("the migration known to admin", () -> get("/migrations/" + MIGRATION_02), r -> r.status == 200);
        // Watch from the start, as an operator would, while live records keep arriving.
        ByteArrayOutputStream watched = new ByteArrayOutputStream();
        CompletableFuture<Integer> watch = CompletableFuture.supplyAsync(() -> AdminCli.run(
                new String[]{"--url", admin, "--interval", "0.1", "watch", MIGRATION_02},
                new PrintStream(watched, true, StandardCharsets.UTF_8), System.err, Map.of(), false));

        int live = BATCH / 2;
        ingest("UserActivity/0.1", "live", live);
        ingestedInto01 += live;
        await("the new table sync and migration flow running", () -> get("/flows"),
                r -> r.status == 200 && r.json.get("flows").size() == 10 && allRunning(r.json.get("flows")));

        int watchStatus = watch.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        String watchOutput = watched.toString(StandardCharsets.UTF_8);
        System.out.println("moose watch " + MIGRATION_02 + ":\n" + watchOutput);
        assertEquals(0, watchStatus, watchOutput);
        List<String> lines = watchOutput.lines().toList();
        assertTrue(lines.get(lines.size() - 1).contains("100.0%") && lines.get(lines.size() - 1).endsWith("done"), watchOutput);

        JsonNode progress = expect(200, get("/migrations/" + MIGRATION_02));
        assertEquals("done", progress.get("phase").asText());
        assertEquals(progress.get("rowsToLoad").asLong(), progress.get("rowsLoaded").asLong(), progress.toString());
        assertTrue(progress.get("rowsToLoad").asLong() >= history, progress.toString());

        await("the live rows in UserActivity_0_1", () -> count("UserActivity_0_1", "live"), n -> n == live);
        long all01 = count("UserActivity_0_1", "");
        await("every 0.1 row in UserActivity_0_2", () -> count("UserActivity_0_2", ""), n -> n == all01);
        assertEquals(history + live, count("UserActivity_0_2", "hist") + count("UserActivity_0_2", "live"));
        assertEquals(count("UserActivity_0_2", ""), scalar("SELECT uniqExact(eventId) FROM " + namespace + ".UserActivity_0_2"),
                "no duplicates");
        assertEquals(0, scalar("SELECT count() FROM " + namespace + ".UserActivity_0_2 WHERE plan != 'free'"),
                "the new column has its default");

        // A restarted hop counts from zero; these count every record since the node started.
        awaitHopRecords("UserActivity_0_1", "table-sync", ingestedInto01);
        awaitHopRecords("UserActivity_0_1_ParsedActivity_0_1", "copy-in", ingestedInto01);
        await("live rows through the running flow", () -> count("ParsedActivity_0_1", "live"), n -> n == live);
    }

    // ---- helpers

    private record Reply(int status, JsonNode json, String body, java.net.http.HttpHeaders headers) {
    }

    private record Cli(int status, String out, String err) {
    }

    private static Cli cli(String... args) {
        List<String> all = new ArrayList<>(List.of("--url", admin));
        all.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = AdminCli.run(all.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), Map.of(), false);
        return new Cli(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Reply get(String path) {
        return send(HttpRequest.newBuilder(URI.create(admin + path)).GET());
    }

    private static Reply post(String path, String body, String token) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(admin + path)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return send(request);
    }

    private static Reply send(HttpRequest.Builder request) {
        try {
            HttpResponse<String> response = HTTP.send(request.timeout(WAIT).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = null;
            try {
                json = AdminJson.MAPPER.readTree(response.body());
            } catch (IOException notJson) {
                // Left null: the assertion on the status shows the body.
            }
            return new Reply(response.statusCode(), json, response.body(), response.headers());
        } catch (java.net.ConnectException e) {
            // Management binds a moment after the node starts; the probes wait for it.
            return new Reply(-1, null, e.toString(), null);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode expect(int status, Reply reply) {
        assertEquals(status, reply.status, reply.body);
        assertTrue(reply.json != null && reply.json.isObject(), "JSON object expected: " + reply.body);
        if (status >= 400) {
            assertTrue(reply.json.hasNonNull("error"), reply.body);
        }
        return reply.json;
    }

    private static void ingest(String modelVersion, String prefix, int records) throws Exception {
        for (int first = 0; first < records; first += BATCH) {
            StringBuilder body = new StringBuilder("[");
            for (int i = first; i < Math.min(records, first + BATCH); i++) {
                body.append(i == first ? "" : ",").append("""
                        {"eventId":"%s-%d","timestamp":"2024-05-01T12:00:00Z","userId":"u%d","activity":"click:signup@/home"}"""
                        .formatted(prefix, i, i % 10));
            }
            HttpResponse<String> reply = HTTP.send(HttpRequest.newBuilder(URI.create(ingest + "/ingest/" + modelVersion))
                    .POST(HttpRequest.BodyPublishers.ofString(body.append("]").toString())).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, reply.statusCode(), reply.body());
        }
    }

    private static long count(String table, String eventIdPrefix) {
        return scalar("SELECT count() FROM " + namespace + "." + table
                + (eventIdPrefix.isEmpty() ? "" : " WHERE startsWith(eventId, '" + eventIdPrefix + "')"));
    }

    private static long scalar(String sql) {
        try {
            return Long.parseLong(clickhouse.query(sql).toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS).get(0).get(0));
        } catch (Exception e) {
            throw new IllegalStateException(sql, e);
        }
    }

    private static void awaitHopRecords(String id, String hop, long expected) {
        await(id + " " + hop + " counted " + expected + " records", () -> get("/flows/" + id), r -> {
            for (JsonNode h : r.json.get("hops")) {
                if (h.get("hop").asText().equals(hop)) {
                    return h.get("records").asLong() == expected;
                }
            }
            return false;
        });
    }

    private static <T> T await(String what, Supplier<T> probe, Predicate<T> done) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        T last = null;
        while (System.nanoTime() < deadline) {
            last = probe.get();
            if (done.test(last)) {
                return last;
            }
            try {
                Thread.sleep(PROBE_INTERVAL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return fail("timed out waiting for " + what + "; last: " + last);
    }

    private static boolean allRunning(JsonNode flows) {
        for (JsonNode f : flows) {
            if (!"running".equals(f.get("state").asText())) {
                return false;
            }
        }
        return true;
    }

    private static List<String> hopNames(JsonNode entity) {
        List<String> names = new ArrayList<>();
        entity.get("hops").forEach(h -> names.add(h.get("hop").asText()));
        return names;
    }

    private static boolean contains(JsonNode array, String value) {
        for (JsonNode n : array) {
            if (n.asText().equals(value)) {
                return true;
            }
        }
        return false;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
