package io.moose.flows.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Each invalid case starts from the shipped example, breaks one thing (marked with a comment so the
 * test knows its line) and checks the problem names file:line, key and reason.
 */
class ProjectDefinitionLoaderTest {

    private static final Path SHIPPED = Path.of("conf/project.conf");
    private static final String PARSE = "\"io.moose.flows.example.ParseActivity\"";
    private static final String NEW_FLOW = "flows = [\n";

    @TempDir
    Path dir;

    @Test
    void theShippedExampleLoadsWithFourFlowsTwoOfThemMigrations() {
        ProjectDefinition definition = ProjectDefinitionLoader.load(SHIPPED);
        assertEquals(List.of("UserActivity", "ParsedActivity"), definition.models().stream().map(DataModel::name).toList());
        assertEquals(4, definition.flows().size());
        assertEquals(List.of("UserActivity_0_0_UserActivity_0_1", "ParsedActivity_0_0_ParsedActivity_0_1"),
                definition.flows().stream().filter(FlowDefinition::isMigration).map(FlowDefinition::id).toList());
        assertEquals("0.1", definition.model("UserActivity").orElseThrow().latest().ref().version());
        assertEquals(List.of("timestamp", "eventId"), definition.allVersions().get(0).orderBy());
    }

    @Test
    void unknownTypeIsNamedWithTheTypesThatExist() {
        expectProblem(replaceFirst("{ name = userId, type = String }", "{ name = userId, type = Text } # here"),
                "models[0].versions[0].columns[2].type", "unknown type 'Text'; expected one of String, Int32");
    }

    @Test
    void modelNameThatCannotBeATopicNameIsRejected() {
        expectProblem(replaceFirst("name = UserActivity", "name = \"User-Activity\" # here"),
                "models[0].name", "model name 'User-Activity' must match");
    }

    @Test
    void versionThatIsNotDottedNumbersIsRejected() {
        expectProblem(replaceFirst("version = \"0.0\"", "version = \"0.x\" # here"),
                "models[0].versions[0].version", "version '0.x' must match");
    }

    @Test
    void columnNameThatIsNotAnIdentifierIsRejected() {
        expectProblem(replaceFirst("{ name = userId, type = String }", "{ name = \"user id\", type = String } # here"),
                "models[0].versions[0].columns[2].name", "column name 'user id' must match");
    }

    @Test
    void duplicateColumnIsRejected() {
        expectProblem(replaceFirst("{ name = userId, type = String }", "{ name = eventId, type = String } # here"),
                "models[0].versions[0].columns[2].name", "column 'eventId' is declared twice");
    }

    @Test
    void flowFromAnUnknownModelIsRejected() {
        expectProblem(addFlow("{ source = \"Nope/0.0\", target = \"ParsedActivity/0.0\", transform = " + PARSE + " } # here"),
                "flows[0].source", "unknown model 'Nope'");
    }

    @Test
    void flowToAnUnknownVersionListsTheDeclaredVersions() {
        expectProblem(addFlow("{ source = \"UserActivity/0.0\", target = \"ParsedActivity/0.9\", transform = " + PARSE + " } # here"),
                "flows[0].target", "model ParsedActivity has no version 0.9; declared: 0.0, 0.1");
    }

    @Test
    void duplicateFlowIsRejected() {
        String text = shipped().replace("transform = " + PARSE + " }",
                "transform = " + PARSE + " }\n  { source = \"UserActivity/0.0\", target = \"ParsedActivity/0.0\", transform = " + PARSE + " } # here");
        expectProblem(text, "flows[1]", "flow UserActivity/0.0 -> ParsedActivity/0.0 is declared twice");
    }

    @Test
    void migrationThatSkipsAVersionIsRejected() {
        String text = """
                models = [ { name = M, versions = [
                  { version = "1", columns = [ { name = a, type = String } ] }
                  { version = "2", columns = [ { name = a, type = String } ] }
                  { version = "3", columns = [ { name = a, type = String } ] }
                ] } ]
                flows = [
                  { source = "M/1", target = "M/3" } # here
                ]
                """;
        expectProblem(text, "flows[0].target", "a migration goes from one version to the next, not M/1 -> M/3; the version after M/1 is M/2");
    }

    @Test
    void generatedMigrationThatNarrowsATypeNamesTheColumn() {
        // The second userId column is UserActivity 0.1's.
        String shipped = shipped();
        int second = shipped.indexOf("{ name = userId, type = String }", shipped.indexOf("{ name = userId, type = String }") + 1);
        String text = (shipped.substring(0, second) + "{ name = userId, type = Int64 }"
                + shipped.substring(second + "{ name = userId, type = String }".length()))
                .replace("{ source = \"UserActivity/0.0\", target = \"UserActivity/0.1\" }",
                        "{ source = \"UserActivity/0.0\", target = \"UserActivity/0.1\" } # here");
        expectProblem(text, "flows[2]", "column 'userId': String -> Int64 narrows or changes the type");
    }

    @Test
    void regularFlowsFormingACycleAreRejectedAtTheFlowClosingIt() {
        String text = shipped().replace("transform = " + PARSE + " }",
                "transform = " + PARSE + " }\n  { source = \"ParsedActivity/0.0\", target = \"UserActivity/0.0\", transform = " + PARSE + " } # here");
        expectProblem(text, "flows[1]", "regular flows form a cycle UserActivity/0.0 -> ParsedActivity/0.0 -> UserActivity/0.0");
    }

    @Test
    void orderByOnAnUnknownColumnIsRejected() {
        expectProblem(replaceFirst("order-by = [timestamp, eventId]", "order-by = [timestamp, eventid] # here"),
                "models[0].versions[0].order-by", "'eventid' is not a column of this version");
    }

    @Test
    void everyProblemIsReportedInOneGo() {
        String text = shipped().replaceFirst("type = DateTime", "type = Instant").replaceFirst("version = \"0.1\"", "version = \"x\"");
        DefinitionException e = assertThrows(DefinitionException.class, () -> ProjectDefinitionLoader.load(write(text)));
        assertTrue(e.problems().stream().anyMatch(p -> p.contains("unknown type 'Instant'")), e.getMessage());
        assertTrue(e.problems().stream().anyMatch(p -> p.contains("version 'x' must match")), e.getMessage());
    }

    private void expectProblem(String text, String key, String reason) {
        Path file = write(text);
        int line = lineOf(text, "# here");
        DefinitionException e = assertThrows(DefinitionException.class, () -> ProjectDefinitionLoader.load(file));
        String expectedStart = file + ":" + line + ": " + key + ": ";
        if (e.problems().stream().noneMatch(p -> p.startsWith(expectedStart) && p.contains(reason))) {
            fail("expected a problem starting '" + expectedStart + "' containing '" + reason + "', got:\n" + e.getMessage());
        }
    }

    private static int lineOf(String text, String marker) {
        List<String> lines = text.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(marker)) {
                return i + 1;
            }
        }
        throw new AssertionError("no line contains " + marker);
    }

    private static String shipped() {
        try {
            return Files.readString(SHIPPED);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static String replaceFirst(String literal, String replacement) {
        String text = shipped();
        int at = text.indexOf(literal);
        assertTrue(at >= 0, "the shipped example no longer contains " + literal);
        return text.substring(0, at) + replacement + text.substring(at + literal.length());
    }

    /** The shipped example with one more flow declared first. */
    private static String addFlow(String flow) {
        return replaceFirst(NEW_FLOW, NEW_FLOW + "  " + flow + "\n");
    }

    private Path write(String text) {
        try {
            Path file = dir.resolve("project.conf");
            Files.writeString(file, text);
            return file;
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
