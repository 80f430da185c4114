package io.moose.flows;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.testing.FreePort;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.ReadmeText;
import io.moose.flows.testing.TableCounts;
import io.moose.flows.testing.TcpProxy;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * README "Running a node" works as written: its commands, run in a fresh bash that has nothing but
 * the overrides the README documents, start a node that uses the services {@code ops/infra env}
 * names, and the README's curl example lands its record in ClickHouse.
 *
 * <p>The services are reached through counting pass-through ports (CLICKHOUSE_HTTP_PORT, KAFKA_PORT
 * given to {@code ops/infra env}), so a node that silently fell back to its default ports, as it did
 * when {@code ops/infra env} printed plain {@code VAR=value} lines, fails the test. The README's
 * {@code mvn ... package} line is not run again: this very build's package phase made the jar.
 */
class ReadmeNodeSectionIT {

    private static final Duration READY_TIMEOUT = Duration.ofSeconds(180);
    private static final Duration LANDED_TIMEOUT = Duration.ofSeconds(120);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void readmeNodeCommandsStartANodeWhoseIngestLandsInClickHouse() throws Exception {
        Infra infra = Infra.get();
        assumeTrue(infra.managedByScript(), "services come from the environment, not ops/infra");
        Path repo = Infra.repoRoot();
        String readme = Files.readString(repo.resolve("README.md"));
        List<String> nodeCommands = ReadmeText.shellLines(ReadmeText.fencedBlock(ReadmeText.section(readme, "## Running a node")));
        String curl = curlCommand(ReadmeText.fencedBlock(ReadmeText.section(readme, "### Ingest")));
        assertTrue(nodeCommands.stream().anyMatch(c -> c.startsWith("eval \"$(ops/infra env)\"")), nodeCommands.toString());
        assertTrue(Files.isRegularFile(repo.resolve("target/moose-flows.jar")), "the package phase builds target/moose-flows.jar");

        String namespace = Infra.uniqueName("readme");
        int ingestPort = FreePort.next();
        int adminPort = FreePort.next();
        int remotePort = FreePort.next();
        Path journal = Files.createTempDirectory("moose-readme-journal-");
        Path log = repo.resolve("target/readme-node-" + namespace + ".log");
        URI clickhouse = URI.create(infra.clickhouseUrl());
        String[] kafka = infra.kafkaBootstrap().split(",")[0].split(":");

        StringBuilder script = new StringBuilder("set -euo pipefail\n");
        for (String command : nodeCommands) {
            if (command.startsWith("mvn ")) {
                continue;
            }
            // The node is the last command; exec makes it the process this test ends.
            script.append(command.startsWith("java ") ? "exec " : "").append(command).append('\n');
        }
        Process node = null;
        try (TcpProxy clickhouseDoor = TcpProxy.forwarding(clickhouse.getHost(), clickhouse.getPort());
             TcpProxy kafkaDoor = TcpProxy.forwarding(kafka[0], Integer.parseInt(kafka[1]))) {
            ProcessBuilder bash = new ProcessBuilder("bash", "-c", script.toString())
                    .directory(repo.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            Map<String, String> env = bash.environment();
            Map<String, String> inherited = Map.copyOf(env);
            env.clear();
            for (String keep : List.of("PATH", "HOME", "LANG", "JAVA_HOME", "MOOSE_INFRA_HOME")) {
                if (inherited.containsKey(keep)) {
                    env.put(keep, inherited.get(keep));
                }
            }
            // ops/infra's documented port overrides: the services behind counting doors.
            env.put("CLICKHOUSE_HTTP_PORT", Integer.toString(clickhouseDoor.port()));
            env.put("KAFKA_PORT", Integer.toString(kafkaDoor.port()));
            // The node's documented overrides (README "Running a node"), so it runs beside anything else.
            env.put("MOOSE_INGEST_PORT", Integer.toString(ingestPort));
            env.put("MOOSE_ADMIN_PORT", Integer.toString(adminPort));
            env.put("MOOSE_REMOTE_PORT", Integer.toString(remotePort));
            env.put("MOOSE_NAMESPACE", namespace);
            env.put("CLICKHOUSE_DATABASE", namespace);
            env.put("MOOSE_JOURNAL_URL", "jdbc:h2:file:" + journal.resolve("journal") + ";DB_CLOSE_DELAY=-1");
            node = bash.start();

            awaitReady(node, adminPort, log);
            String reply = run(repo, curl.replace("localhost:8080", "localhost:" + ingestPort));
            assertTrue(reply.contains("\"accepted\":1"), "README curl answered: " + reply);

            try (ClickHouse client = TableCounts.connect(namespace)) {
                TableCounts counts = new TableCounts(client);
                TableCounts.await("the README's record in " + namespace + ".UserActivity_0_1", LANDED_TIMEOUT,
                        () -> counts.rowsWithEventId("UserActivity_0_1", "e1") == 1,
                        () -> "rows with eventId e1: " + counts.rowsWithEventId("UserActivity_0_1", "e1"));
            }
            assertTrue(clickhouseDoor.connections() > 0, "the node reached ClickHouse through CLICKHOUSE_URL from ops/infra env");
            assertTrue(kafkaDoor.connections() > 0, "the node reached Kafka through KAFKA_BOOTSTRAP from ops/infra env");
        } finally {
            if (node != null) {
                node.destroy();
                if (!node.waitFor(30, TimeUnit.SECONDS)) {
                    node.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    /** The curl example, with its continuation lines. */
    private static String curlCommand(String block) {
        List<String> lines = new ArrayList<>();
        boolean in = false;
        for (String line : block.lines().toList()) {
            in = in || line.startsWith("curl ");
            if (in) {
                lines.add(line);
                if (!line.endsWith("\\")) {
                    break;
                }
            }
        }
        assertTrue(!lines.isEmpty(), "a curl example in " + block);
        return String.join("\n", lines);
    }

    private static void awaitReady(Process node, int adminPort, Path log) throws Exception {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/health/ready"))
                .timeout(Duration.ofSeconds(2)).build();
        while (true) {
            assertTrue(node.isAlive(), () -> "the node exited: " + tail(log));
            try {
                if (HTTP.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notListeningYet) {
                // starting
            }
            assertTrue(System.nanoTime() < deadline, () -> "not ready within " + READY_TIMEOUT + ": " + tail(log));
            Thread.sleep(250);
        }
    }

    private static String run(Path dir, String command) throws Exception {
        Process process = new ProcessBuilder("bash", "-c", command).directory(dir.toFile()).redirectErrorStream(true).start();
        boolean done = process.waitFor(60, TimeUnit.SECONDS);
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            process.destroyForcibly();
        }
        assertEquals(0, done ? process.exitValue() : -1, command + " → " + output);
        return output;
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }
}
