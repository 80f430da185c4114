package io.moose.flows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.testing.FreePort;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.ReadmeText;
import io.moose.flows.testing.TableCounts;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * README "Two commands", the admin curl examples and the CLI examples work when pasted: each is
 * taken from the README's fenced blocks and run in a fresh bash that has nothing but the overrides
 * the README documents (private ports, Kafka namespace, ClickHouse database, demo directory), and
 * its effect is checked.
 *
 * <p>{@code ops/demo} runs with {@code --smoke} (no rebuild when the jar exists: this build's package
 * phase made it; 200 + 100 records instead of 2,000 + 1,000); it fails by itself unless every record
 * reaches every table exactly once, and the tables are counted again here. {@code ops/test} is the
 * suite this test runs in, so it is not run again from inside it: only checked to parse
 * ({@code bash -n}) and to refuse a wrong {@code --busy}.
 */
class ReadmeCommandsIT {

    private static final Duration DEMO_TIMEOUT = Duration.ofMinutes(12);
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(120);
    private static final String TOKEN = "dev-token";

    private record Result(int exit, String output) {
    }

    @Test
    void twoCommandsAndTheAdminAndCliExamplesWorkAsWritten() throws Exception {
        Infra infra = Infra.get();
        assumeTrue(infra.managedByScript(), "services come from the environment, not ops/infra");
        Path repo = Infra.repoRoot();
        String readme = Files.readString(repo.resolve("README.md"));
        List<String> two = ReadmeText.commands(ReadmeText.fencedBlock(ReadmeText.section(readme, "## Two commands")), "ops/");
        assertEquals(List.of("ops/demo", "ops/test"), two, "the README's two commands");

        String namespace = Infra.uniqueName("demo");
        int ingestPort = FreePort.next();
        int adminPort = FreePort.next();
        Path demoDir = Files.createTempDirectory("moose-demo-");
        Map<String, String> env = Map.of(
                "MOOSE_INGEST_PORT", Integer.toString(ingestPort),
                "MOOSE_ADMIN_PORT", Integer.toString(adminPort),
                "MOOSE_REMOTE_PORT", Integer.toString(FreePort.next()),
                "MOOSE_NAMESPACE", namespace,
                "CLICKHOUSE_DATABASE", namespace,
                "MOOSE_DEMO_DIR", demoDir.toString(),
                "DEMO_TIMEOUT", "400");
        try {
            Result demo = run(repo, env, two.get(0) + " --smoke", DEMO_TIMEOUT);
            assertEquals(0, demo.exit(), "ops/demo --smoke: " + tail(demo.output()) + "\nnode log: " + tail(demoDir.resolve("node.log")));
            assertTrue(demo.output().contains("UserActivity_0_0=200/200 ParsedActivity_0_0=200/200 UserActivity_0_1=300/300"
                    + " ParsedActivity_0_1=300/300"), "the demo's last progress line: " + tail(demo.output()));
            try (ClickHouse client = TableCounts.connect(namespace)) {
                TableCounts counts = new TableCounts(client);
                for (String table : List.of("UserActivity_0_0", "ParsedActivity_0_0")) {
                    assertEquals(200, counts.rowsWithEventPrefix(table, "demo"), table);
                    assertEquals(0, counts.duplicateEvents(table), table + " duplicates");
                }
                for (String table : List.of("UserActivity_0_1", "ParsedActivity_0_1")) {
                    assertEquals(300, counts.rowsWithEventPrefix(table, "demo"), table);
                    assertEquals(0, counts.duplicateEvents(table), table + " duplicates");
                }
            }
            adminCurlExamples(repo, env, readme, adminPort);
            cliExamples(repo, env, readme, adminPort);
        } finally {
            Result stop = run(repo, env, "ops/demo stop", COMMAND_TIMEOUT);
            assertEquals(0, stop.exit(), "ops/demo stop: " + stop.output());
        }

        Result parses = run(repo, env, "bash -n " + two.get(1), COMMAND_TIMEOUT);
        assertEquals(0, parses.exit(), "ops/test parses: " + parses.output());
        Result busy = run(repo, env, two.get(1) + " --busy 99", COMMAND_TIMEOUT);
        assertTrue(busy.exit() != 0 && busy.output().contains("usage: ops/test --busy N"), "ops/test --busy 99: " + busy.output());
    }

    /** The curl lines of the admin section, against this demo's admin port. */
    private static void adminCurlExamples(Path repo, Map<String, String> env, String readme, int adminPort) throws Exception {
        String section = ReadmeText.section(readme, "## Admin (Akka Management HTTP, port 8558)");
        List<String> curls = ReadmeText.fencedBlocks(section).stream()
                .flatMap(block -> ReadmeText.commands(block, "curl ").stream()).toList();
        assertTrue(curls.size() >= 6, "admin curl examples: " + curls);
        for (String example : curls) {
            String command = example.replace("localhost:8558", "localhost:" + adminPort)
                    // The user's own definition file: the demo's is at hand.
                    .replace("@my-project.conf", "@conf/project.conf");
            String expected;
            if (example.contains("/leave")) {
                // Not a member of the demo's one-node cluster: the route answers so, and nothing leaves.
                expected = "no member";
            } else if (example.contains("/pause")) {
                expected = "\"paused\"";
            } else if (example.contains("/migrations/")) {
                expected = "\"done\"";
            } else if (example.contains("/project/")) {
                // The demo's own definition: nothing to change.
                expected = "\"changesNothing\":true";
            } else {
                expected = "\"table-sync\"";
            }
            Result result = run(repo, env, command, COMMAND_TIMEOUT);
            assertEquals(0, result.exit(), command + " → " + result.output());
            assertTrue(result.output().contains(expected), command + " → " + result.output());
        }
        // Leaves the demo as it was: the pause example paused a table sync.
        Result resume = run(repo, env, "curl -s -XPOST -H 'Authorization: Bearer " + TOKEN + "' localhost:" + adminPort
                + "/flows/UserActivity_0_1/resume", COMMAND_TIMEOUT);
        assertTrue(resume.output().contains("\"running\"") || resume.output().contains("\"starting\""), resume.output());
    }

    /** The CLI's commands (its synopsis) and the watch example, through ops/moose with --url. */
    private static void cliExamples(Path repo, Map<String, String> env, String readme, int adminPort) throws Exception {
        List<String> blocks = ReadmeText.fencedBlocks(ReadmeText.section(readme, "### CLI"));
        assertTrue(blocks.size() >= 2, "a synopsis and the watch example");
        String url = "--url http://127.0.0.1:" + adminPort + " ";
        assertTrue(blocks.get(0).contains("flows | flow ID | pause ID | resume ID | migrations | watch FLOW"), blocks.get(0));
        List<String> watch = ReadmeText.commands(blocks.get(1), "$ ops/moose ");
        assertEquals(1, watch.size(), blocks.get(1));
        Map<String, String> expected = new java.util.LinkedHashMap<>();
        expected.put("ops/moose " + url + "flows", "UserActivity_0_1");
        expected.put("ops/moose " + url + "flow UserActivity_0_1", "running");
        expected.put("ops/moose " + url + "migrations", "done");
        expected.put("ops/moose " + url + "--json flows", "\"id\"");
        expected.put("ops/moose " + url + "cluster", "Up");
        expected.put("ops/moose " + url + "plan conf/project.conf", "");
        expected.put(watch.get(0).substring(2).replace("ops/moose ", "ops/moose " + url), "done");
        for (Map.Entry<String, String> command : expected.entrySet()) {
            Result result = run(repo, env, command.getKey(), COMMAND_TIMEOUT);
            assertEquals(0, result.exit(), command.getKey() + " → " + result.output());
            assertTrue(result.output().contains(command.getValue()), command.getKey() + " → " + result.output());
        }
    }

    /** Runs {@code command} in a fresh bash with only PATH, HOME, LANG, JAVA_HOME, MOOSE_INFRA_HOME and {@code env}. */
    private static Result run(Path repo, Map<String, String> env, String command, Duration timeout) throws Exception {
        Path output = Files.createTempFile("moose-readme-command-", ".log");
        ProcessBuilder bash = new ProcessBuilder("bash", "-c", command).directory(repo.toFile())
                .redirectErrorStream(true).redirectOutput(output.toFile());
        Map<String, String> environment = bash.environment();
        Map<String, String> inherited = Map.copyOf(environment);
        environment.clear();
        for (String keep : List.of("PATH", "HOME", "LANG", "JAVA_HOME", "MOOSE_INFRA_HOME")) {
            if (inherited.containsKey(keep)) {
                environment.put(keep, inherited.get(keep));
            }
        }
        environment.putAll(env);
        Process process = bash.start();
        boolean done = process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS);
        if (!done) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        String text = Files.readString(output, StandardCharsets.UTF_8);
        Files.deleteIfExists(output);
        return new Result(done ? process.exitValue() : -1, text);
    }

    private static String tail(String text) {
        List<String> lines = text.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    private static String tail(Path log) {
        try {
            return tail(Files.readString(log));
        } catch (java.io.IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
