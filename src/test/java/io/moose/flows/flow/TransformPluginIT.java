package io.moose.flows.flow;

import com.fasterxml.jackson.databind.JsonNode;
import io.moose.flows.chaos.AdminClient;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.IngestClient;
import io.moose.flows.testing.TableCounts;
import io.moose.flows.testing.TestNode;
import io.moose.flows.testing.TransformJars;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 13 on one real node: examples/transform-starter's sources built into a jar the way its
 * {@code mvn package} builds it, dropped into the node's {@code moose-flows.transforms.path} while
 * it runs; plan refuses the flow while no jar has the class and when its records do not fit the
 * models; apply starts it, and every ingested record lands transformed exactly once. Then the jar
 * goes away and the flow starts again (pause, resume): the flow reports failed with the reason in
 * {@code GET /flows} and the CLI, records keep arriving, and once the jar is back the flow runs
 * again by itself and every record lands exactly once.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TransformPluginIT {

    private static final String FLOW = "UserActivity_0_1_PageView_0_1";
    private static final String CLASS = "com.example.transforms.PageViews";
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final String ACTIVITY = """
              {
                name = UserActivity
                versions = [{ version = "0.1", columns = [
                  { name = eventId, type = String }
                  { name = timestamp, type = DateTime }
                  { name = userId, type = String }
                  { name = activity, type = String }
                  { name = region, type = String, default = "unknown" }
                ], order-by = [timestamp, eventId] }]
              }
            """;
    private static final String BASE = "models = [\n" + ACTIVITY + "]\nflows = []\n";

    private static Path folder;
    private static TestNode node;
    private static AdminClient admin;
    private static TableCounts counts;

    @BeforeAll
    static void startNode() throws Exception {
        folder = Files.createTempDirectory("moose-transforms-");
        node = TestNode.start(BASE, """
                moose-flows.transforms.path = "%s"
                moose-flows.transforms.retry-interval = 1s
                """.formatted(folder));
        admin = new AdminClient(List.of(node.adminUrl()), "test-token");
        counts = new TableCounts(node.clickhouse);
        TableCounts.await("the admin port answering", WAIT, () -> {
            try {
                return admin.get("/project").status() == 200;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }, () -> "no answer");
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    /** The starter's model and flow added to the base definition; {@code sectionType} is PageView's section column type. */
    private static String withPageViews(String sectionType) {
        return "models = [\n" + ACTIVITY + """
                  {
                    name = PageView
                    versions = [{ version = "0.1", columns = [
                      { name = eventId, type = String }
                      { name = timestamp, type = DateTime }
                      { name = userId, type = String }
                      { name = page, type = String }
                      { name = section, type = %s }
                    ], order-by = [timestamp, eventId] }]
                  }
                ]
                flows = [
                  { source = "UserActivity/0.1", target = "PageView/0.1", transform = "%s" }
                ]
                """.formatted(sectionType, CLASS);
    }

    private static Path starterJar() {
        return TransformJars.build(Infra.repoRoot().resolve("examples/transform-starter/src/main/java"),
                folder.resolve("my-transforms-1.0.0.jar"));
    }

    @Test
    @Order(1)
    void planAndApplyRefuseAFlowWhoseClassIsInNoJarNamingTheFlowTheClassAndTheJarsSearched() throws Exception {
        String text = withPageViews("String");
        for (String route : List.of("/project/plan", "/project/apply")) {
            AdminClient.Reply refused = admin.post(route, text);
            assertEquals(422, refused.status(), refused.body());
            String problem = refused.json().path("problems").get(0).asText();
            assertEquals("request body:" + lineOfFlow(text) + ": flows[0].transform: " + CLASS + ": no such class (flow " + FLOW + ") on the service's"
                    + " class path or in a plugin jar; jars searched in " + folder + " (moose-flows.transforms.path): none there", problem);
        }
    }

    @Test
    @Order(2)
    void withTheStarterJarDroppedInPlanRefusesRecordsThatDoNotFitAndApplyRunsTheFlowExactlyOnce() throws Exception {
        starterJar();
        String misfitText = withPageViews("Int32");
        AdminClient.Reply misfit = admin.post("/project/plan", misfitText);
        assertEquals(422, misfit.status(), misfit.body());
        assertEquals(List.of("request body:" + lineOfFlow(misfitText) + ": flows[0].transform: " + CLASS + ": output field 'section' is String,"
                + " target column PageView/0.1.section is Int32"), problems(misfit.json()));

        AdminClient.Reply applied = admin.post("/project/apply", withPageViews("String"));
        assertEquals(200, applied.status(), applied.body());
        assertTrue(applied.json().path("applied").asBoolean(), applied.body());

        int records = 600;
        new IngestClient(node.ingestUrl()).ingestUserActivity("0.1", "a", records, 200);
        awaitRows("a", records);
        // IngestClient's activities are "click:button-K@/page/N": PageViews keeps the page and its first segment.
        List<List<String>> row = node.clickhouse.query("SELECT page, section, userId FROM "
                + node.clickhouse.qualified(table()) + " WHERE eventId = 'a-7'").toCompletableFuture().get();
        assertEquals(List.of(List.of("/page/2", "page", "user-7")), row);
    }

    @Test
    @Order(3)
    void aFlowStartingWhereItsJarIsMissingReportsFailedAndRunsOnceTheJarIsBack() throws Exception {
        Path jar = folder.resolve("my-transforms-1.0.0.jar");
        Path away = Files.move(jar, folder.resolveSibling(folder.getFileName() + "-away.jar"));
        assertEquals(200, admin.post("/flows/" + FLOW + "/pause", "").status());
        assertEquals(200, admin.post("/flows/" + FLOW + "/resume", "").status());

        String[] problem = new String[1];
        TableCounts.await("the flow reported failed", WAIT, () -> {
            try {
                JsonNode flow = admin.get("/flows/" + FLOW).json();
                problem[0] = flow.path("problem").asText();
                return flow.path("state").asText().equals("failed");
            } catch (Exception e) {
                return false;
            }
        }, () -> problem[0]);
        assertTrue(problem[0].startsWith(CLASS + ": no such class (flow " + FLOW + ")"), problem[0]);
        assertTrue(problem[0].endsWith("jars searched in " + folder + " (moose-flows.transforms.path): none there"), problem[0]);

        String cli = cli("flows");
        assertTrue(cli.contains(FLOW + " failed: " + CLASS + ": no such class"), cli);

        // Accepted while the flow cannot run; they wait in its topics.
        new IngestClient(node.ingestUrl()).ingestUserActivity("0.1", "b", 300, 100);
        Thread.sleep(2_000);
        assertEquals(0, counts.rowsWithEventPrefix(table(), "b-"));

        Files.move(away, jar);
        awaitRows("b", 300);
        assertEquals(600, counts.rowsWithEventPrefix(table(), "a-"));
        assertEquals("running", admin.get("/flows/" + FLOW).json().path("state").asText());
    }

    private static void awaitRows(String prefix, int expected) {
        TableCounts.await(expected + " " + prefix + "- rows in " + table(), WAIT,
                () -> counts.rowsWithEventPrefix(table(), prefix + "-") >= expected,
                () -> counts.rowsWithEventPrefix(table(), prefix + "-") + " rows; flow: " + flowState());
        // Let a late duplicate show up if there were one.
        sleep(3_000);
        assertEquals(expected, counts.rowsWithEventPrefix(table(), prefix + "-"));
        assertEquals(0, counts.duplicateEvents(table()));
        assertEquals(0, counts.duplicateCoordinates(table()));
    }

    private static String table() {
        return node.names.table(io.moose.flows.model.VersionRef.parse("PageView/0.1"));
    }

    private static String flowState() {
        try {
            return admin.get("/flows/" + FLOW).body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static int lineOfFlow(String text) {
        List<String> lines = text.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains("transform = ")) {
                return i + 1;
            }
        }
        throw new IllegalArgumentException(text);
    }

    private static List<String> problems(JsonNode reply) {
        List<String> list = new java.util.ArrayList<>();
        reply.path("problems").forEach(p -> list.add(p.asText()));
        return list;
    }

    /** ops/moose, as an operator runs it. */
    private static String cli(String... args) throws IOException, InterruptedException {
        List<String> command = new java.util.ArrayList<>(List.of("bash", Infra.repoRoot().resolve("ops/moose").toString(),
                "--url", node.adminUrl()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor();
        return out;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
