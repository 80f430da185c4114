package io.moose.flows.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.moose.flows.chaos.AdminClient;
import io.moose.flows.model.VersionRef;
import io.moose.flows.testing.DataPlaneFixture;
import io.moose.flows.testing.IngestClient;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
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
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.UA_0_1;
import static io.moose.flows.testing.DataPlaneFixture.join;

/**
 * A running node (target/moose-flows.jar, or the jar MOOSE_JAR names, as ops/cluster takes it; conf/node.conf) beside its ceilings, in the same run:
 * ingest under {@code wrk} (1 record x 8 and x 64 connections, 100 records x 8; req/s, p50/p99, node
 * and broker CPU per record) vs a plain kafka-clients producer writing the same records, and the initial load of a new version vs ClickHouse's own
 * {@code INSERT INTO new SELECT ... FROM old} of the same rows. Run by {@code ops/bench}; not a test.
 *
 * <p>The node starts with UserActivity 0.0 only; wrk fills it; then a definition adding 0.1 and
 * the migration 0.0 → 0.1 is applied, and the load is timed from the apply to the migration's
 * phase "done" (rows in the flow's input topic) and to the last row in the new table.
 */
public final class NodeBench {

    private static final Duration WRK_RUN = Duration.ofSeconds(Integer.getInteger("bench.wrk.seconds", 15));
    /**
     * Rows of a bulk import (another origin, which a migration loads too) added to the source table
     * before the migration is applied, so the load's cost can be seen at sizes ingest cannot fill
     * in a bench run.
     */
    private static final long LOAD_EXTRA_ROWS = Long.getLong("bench.load-extra-rows", 0);
    private static final Duration TIMEOUT = Duration.ofMinutes(5).plusSeconds(LOAD_EXTRA_ROWS / 10_000);
    /**
     * Rows of a first initial load that is not counted (0 for none): another model, LoadWarmUp
     * 0.0 -> 0.1, is migrated before the measured one, so the measured load runs on nodes that have
     * loaded before (JIT-compiled, producers and ClickHouse connections in use), as a cluster that
     * has served traffic would. Without it a small load on fresh nodes mostly measures their JIT.
     */
    private static final long LOAD_WARM_UP_ROWS = Long.getLong("bench.load-warm-up-rows", 0);
    private static final VersionRef WARM_UP_0_0 = new VersionRef("LoadWarmUp", "0.0");
    private static final VersionRef WARM_UP_0_1 = new VersionRef("LoadWarmUp", "0.1");
    /** 1: one node (conf/node.conf); more: a local cluster through ops/cluster. */
    private static final int NODES = Integer.getInteger("bench.nodes", 1);
    /**
     * A first wrk run of 1 record x 8 connections per node that is not counted (0 for none): the
     * JIT compiles the request path there instead of in the first scenario. A cluster's three JVMs
     * compile on the same 2 cores: after 60 s, their compiler threads still took 12.6 of the 31.4 CPU s
     * of a counted 1 x 8 run (1,119 req/s); after 150 s, 1.1 of 23.3 (3,035 req/s, 2026-12-03).
     */
    private static final Duration WRK_WARM_UP = Duration.ofSeconds(Integer.getInteger("bench.wrk.warm-up-seconds", NODES == 1 ? 10 : 150));
    /** ingest (wrk beside a plain producer), load (initial load beside INSERT ... SELECT), or both. */
    private static final String PARTS = System.getProperty("bench.node-parts", "ingest,load");
    /** Extra JVM options of the node, or of every node of a cluster, e.g. a flight recording (-XX:StartFlightRecording=...). */
    private static final List<String> NODE_OPTS = System.getProperty("bench.node-opts", "").isBlank() ? List.of()
            : List.of(System.getProperty("bench.node-opts").trim().split("\\s+"));
    /**
     * The jar a single node runs: another build (an older commit's jar kept aside) can be measured
     * right before or after this one, in the same conditions.
     */
    private static final String NODE_JAR = System.getProperty("bench.node-jar", "").isBlank()
            ? "target/moose-flows.jar" : System.getProperty("bench.node-jar").trim();
    /** A cluster's ingest ports start here, admin ports 100 above, Artery ports 200 above. */
    private static final int CLUSTER_PORT_BASE = Integer.getInteger("bench.cluster-port-base", 31000);
    /** Idle time before the load, to measure live ingest's latency without it. */
    private static final Duration PROBE_IDLE = Duration.ofSeconds(10);
    /** 1-record requests per second the live-ingest probe sends through the load. */
    private static final int PROBE_RATE = 50;
    private static final String TOKEN = "dev-token";
    private static final String MIGRATION = "UserActivity_0_0_UserActivity_0_1";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static final String V0_0 = """
            { version = "0.0", order-by = [timestamp, eventId], columns = [
                { name = eventId, type = String }, { name = timestamp, type = DateTime },
                { name = userId, type = String }, { name = activity, type = String } ] }""";
    private static final String V0_1 = """
            { version = "0.1", order-by = [timestamp, eventId], columns = [
                { name = eventId, type = String }, { name = timestamp, type = DateTime },
                { name = userId, type = String }, { name = activity, type = String },
                { name = region, type = String, default = "unknown" } ] }""";

    public static void main(String[] args) {
        BenchMain.exitWith(() -> run());
    }

    private static void run() throws Exception {
        Path dir = Files.createTempDirectory("node-bench");
        Nodes nodes = null;
        List<String> ingestTable = new ArrayList<>();
        String load = "";
        try (DataPlaneFixture dp = new DataPlaneFixture()) {
            String namespace = dp.names.ingestionTopic(UA_0_0).substring(0, dp.names.ingestionTopic(UA_0_0).indexOf('.'));
            Path before = Files.writeString(dir.resolve("project-0.0.conf"), project(false, false));
            Path warmedUp = Files.writeString(dir.resolve("project-warm-up.conf"), project(true, false));
            Path after = Files.writeString(dir.resolve("project-0.1.conf"), project(LOAD_WARM_UP_ROWS > 0, true));
            nodes = NODES == 1 ? Nodes.single(dir, before, namespace, dp.clickhouse.database())
                    : Nodes.cluster(dir, NODES, before, namespace, dp.clickhouse.database());
            String admin = nodes.admin.get(0);

            if (PARTS.contains("ingest")) {
                // Through every node at once (one wrk per node, the connections split between them);
                // CPU per accepted record summed over all the nodes (and the broker).
                List<String> urls = nodes.ingest.stream().map(base -> base + "/ingest/UserActivity/0.0").toList();
                if (!WRK_WARM_UP.isZero()) {
                    // Not counted: the node's JIT compiles the request path here instead of in the first scenario.
                    wrk(dir, urls, 1, 8 * urls.size(), WRK_WARM_UP, nodes.pids(), brokerPid());
                }
                List<Wrk> runs = new ArrayList<>();
                runs.add(wrk(dir, urls, 1, 8, WRK_RUN, nodes.pids(), brokerPid()));
                runs.add(wrk(dir, urls, 1, 64, WRK_RUN, nodes.pids(), brokerPid()));
                runs.add(wrk(dir, urls, 100, 8, WRK_RUN, nodes.pids(), brokerPid()));
                double ceiling = plainProducer(dp, (int) Math.max(200_000, runs.get(2).recordsPerSecond() * 5));
                ingestTable.add(urls.size() == 1
                        ? "| scenario | req/s | rec/s | p50 | p99 | node CPU per record | broker CPU per record | ceiling (plain idempotent producer) | ratio |"
                        : "| scenario (through all " + urls.size() + " nodes) | req/s | rec/s | p50 (worst node) | p99 (worst node) | nodes' CPU per record | broker CPU per record | ceiling (plain idempotent producer) | ratio |");
                ingestTable.add("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
                for (Wrk run : runs) {
                    ingestTable.add(String.format("| %d record(s) x %d connections | %,.0f | %,.0f | %.1f ms | %.1f ms | %.1f us | %.1f us | %,.0f rec/s | %.3fx |",
                            run.records(), run.connections(), run.requestsPerSecond(), run.recordsPerSecond(), run.p50Ms(), run.p99Ms(),
                            run.nodeCpuMicrosPerRecord(), run.brokerCpuMicrosPerRecord(), ceiling, run.recordsPerSecond() / ceiling));
                }
            }
            if (PARTS.contains("load")) {
                long ingested = PARTS.contains("ingest") ? awaitStableCount(dp, dp.names.table(UA_0_0)) : 0;
                if (LOAD_EXTRA_ROWS > 0) {
                    System.out.println("adding " + LOAD_EXTRA_ROWS + " rows of a bulk import to the source table");
                    bulkImport(dp, UA_0_0, LOAD_EXTRA_ROWS);
                }
                if (LOAD_WARM_UP_ROWS > 0) {
                    warmUpLoad(dp, nodes, dir, warmedUp);
                }
                load = initialLoad(dp, nodes, after, ingested + LOAD_EXTRA_ROWS);
            }
        } finally {
            if (nodes != null) {
                nodes.stop();
            }
        }
        System.out.println();
        ingestTable.forEach(System.out::println);
        System.out.println(load);
        System.exit(0);
    }

    /** The node or nodes under test: their ingest and admin base URLs and their processes. */
    private record Nodes(List<String> ingest, List<String> admin, List<Long> pids, Runnable shutdown) {

        /** One node (conf/node.conf, H2 journal) as a child process. */
        static Nodes single(Path dir, Path project, String namespace, String database) throws Exception {
            int ingestPort = freePort();
            int adminPort = freePort();
            List<String> command = new ArrayList<>(List.of("java", "-Xmx1g"));
            command.addAll(NODE_OPTS);
            command.addAll(List.of("-Dconfig.file=conf/node.conf",
                    "-Dmoose-flows.project-file=" + project,
                    "-Dmoose-flows.namespace=" + namespace,
                    "-Dmoose-flows.clickhouse.database=" + database,
                    "-Dmoose-flows.journal.url=jdbc:h2:file:" + dir.resolve("journal") + ";DB_CLOSE_DELAY=-1",
                    "-Dmoose-flows.ingest.port=" + ingestPort,
                    "-Dmoose-flows.ingest.interface=127.0.0.1",
                    "-Dmoose-flows.admin.port=" + adminPort,
                    "-Dmoose-flows.node.hostname=127.0.0.1",
                    "-Dmoose-flows.node.remote-port=0",
                    "-jar", NODE_JAR));
            Process node = new ProcessBuilder(command)
                    .redirectErrorStream(true).redirectOutput(dir.resolve("node.log").toFile()).start();
            Nodes nodes = new Nodes(List.of("http://127.0.0.1:" + ingestPort), List.of("http://127.0.0.1:" + adminPort),
                    List.of(node.pid()), () -> {
                        node.destroy();
                        try {
                            node.waitFor(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        node.destroyForcibly();
                    });
            try {
                awaitReady(nodes.admin.get(0) + "/health/ready", node::isAlive, dir.resolve("node.log"));
            } catch (Exception e) {
                nodes.shutdown.run();
                throw e;
            }
            System.out.println("node up (" + NODE_JAR + ", log " + dir.resolve("node.log") + ")");
            return nodes;
        }

        /**
         * A local cluster of {@code n} nodes (ops/cluster: conf/cluster-node.conf, PostgreSQL journal)
         * on ports from {@code bench.cluster-port-base}, its state under the bench's directory.
         */
        static Nodes cluster(Path dir, int n, Path project, String namespace, String database) throws Exception {
            Path home = dir.resolve("cluster");
            List<String> ingest = new ArrayList<>();
            List<String> admin = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                ingest.add("http://127.0.0.1:" + (CLUSTER_PORT_BASE + i));
                admin.add("http://127.0.0.1:" + (CLUSTER_PORT_BASE + 100 + i));
            }
            Runnable down = () -> {
                try {
                    cluster(home, namespace, database, project, "down");
                } catch (Exception e) {
                    System.out.println("ops/cluster down failed: " + e);
                }
            };
            try {
                cluster(home, namespace, database, project, "up", Integer.toString(n));
                List<Long> pids = new ArrayList<>();
                for (int i = 1; i <= n; i++) {
                    pids.add(Long.parseLong(Files.readString(home.resolve("node-" + i).resolve("pid")).trim()));
                }
                System.out.println(n + " nodes up (logs under " + home + ")");
                return new Nodes(ingest, admin, pids, down);
            } catch (Exception e) {
                down.run();
                throw e;
            }
        }

        private static void cluster(Path home, String namespace, String database, Path project, String... args) throws Exception {
            List<String> command = new ArrayList<>(List.of("bash", "ops/cluster"));
            command.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.INHERIT);
            pb.environment().put("MOOSE_CLUSTER_HOME", home.toString());
            pb.environment().put("MOOSE_CLUSTER_INGEST_BASE", Integer.toString(CLUSTER_PORT_BASE));
            pb.environment().put("MOOSE_CLUSTER_ADMIN_BASE", Integer.toString(CLUSTER_PORT_BASE + 100));
            pb.environment().put("MOOSE_CLUSTER_REMOTE_BASE", Integer.toString(CLUSTER_PORT_BASE + 200));
            pb.environment().put("MOOSE_ADMIN_TOKEN", TOKEN);
            pb.environment().put("MOOSE_NODE_OPTS", String.join(" ", NODE_OPTS) + " -Dmoose-flows.namespace=" + namespace + " -Dmoose-flows.clickhouse.database=" + database
                    + " -Dmoose-flows.project-file=" + project);
            Process p = pb.start();
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException("ops/cluster " + String.join(" ", args) + " failed");
            }
        }

        void stop() {
            shutdown.run();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void awaitReady(String url, java.util.function.BooleanSupplier alive, Path log) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!alive.getAsBoolean()) {
                throw new IllegalStateException("node exited; see " + log);
            }
            try {
                if (HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("node not ready; see " + log);
    }

    record Wrk(int records, int connections, double requestsPerSecond, double p50Ms, double p99Ms,
               double nodeCpuMicrosPerRecord, double brokerCpuMicrosPerRecord) {
        double recordsPerSecond() {
            return requestsPerSecond * records;
        }
    }

    private static String brokerPid() {
        return System.getProperty("bench.broker-pid", "");
    }

    /**
     * wrk POSTing one fixed body of {@code records} records over {@code connections} connections,
     * split between the URLs (one wrk process per URL, all at once). Rates are summed; p50 and p99
     * are the worst process's (wrk prints percentiles, which cannot be merged).
     */
    private static Wrk wrk(Path dir, List<String> urls, int records, int connections, Duration duration,
                           List<Long> nodePids, String brokerPid) throws Exception {
        ArrayNode body = JSON.createArrayNode();
        for (int i = 0; i < records; i++) {
            body.add(IngestClient.userActivity("0.0", "wrk-" + i, i));
        }
        Path script = dir.resolve("post-" + records + ".lua");
        Files.writeString(script, "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = "
                + luaString(JSON.writeValueAsString(body)) + "\n");
        System.out.println("wrk: " + records + " record(s) per request, " + connections + " connections"
                + (urls.size() > 1 ? " split over " + urls.size() + " nodes" : "") + ", for " + duration.toSeconds() + " s");
        double nodeBefore = 0;
        for (long pid : nodePids) {
            nodeBefore += CpuUse.cpuSeconds(pid);
        }
        double brokerBefore = brokerPid.isBlank() ? 0 : CpuUse.cpuSeconds(Long.parseLong(brokerPid.trim()));
        List<Process> processes = new ArrayList<>();
        for (int i = 0; i < urls.size(); i++) {
            int share = connections / urls.size() + (i < connections % urls.size() ? 1 : 0);
            processes.add(new ProcessBuilder("wrk", "-t1", "-c" + share, "-d" + duration.toSeconds() + "s", "--timeout", "20s", "--latency",
                    "-s", script.toString(), urls.get(i)).redirectErrorStream(true).start());
        }
        List<String> outputs = new ArrayList<>();
        for (Process p : processes) {
            outputs.add(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
        double nodeCpu = -nodeBefore;
        for (long pid : nodePids) {
            nodeCpu += CpuUse.cpuSeconds(pid);
        }
        double brokerCpu = brokerPid.isBlank() ? 0 : CpuUse.cpuSeconds(Long.parseLong(brokerPid.trim())) - brokerBefore;
        double requestsPerSecond = 0;
        long requests = 0;
        double p50 = 0;
        double p99 = 0;
        for (int i = 0; i < processes.size(); i++) {
            String out = outputs.get(i);
            if (processes.get(i).waitFor() != 0) {
                throw new IllegalStateException("wrk failed: " + out);
            }
            if (out.contains("Non-2xx") || out.contains("Socket errors")) {
                throw new IllegalStateException("wrk saw failed requests: " + out);
            }
            Matcher rate = Pattern.compile("Requests/sec:\\s+([0-9.]+)").matcher(out);
            Matcher total = Pattern.compile("([0-9]+) requests in").matcher(out);
            if (!rate.find() || !total.find()) {
                throw new IllegalStateException("no rate in wrk output: " + out);
            }
            requestsPerSecond += Double.parseDouble(rate.group(1));
            requests += Long.parseLong(total.group(1));
            p50 = Math.max(p50, percentileMs(out, "50%"));
            p99 = Math.max(p99, percentileMs(out, "99%"));
        }
        long accepted = requests * records;
        return new Wrk(records, connections, requestsPerSecond, p50, p99, nodeCpu * 1e6 / accepted, brokerCpu * 1e6 / accepted);
    }

    /** A percentile of wrk's latency distribution (printed as 1.23ms, 456.00us or 1.02s), in ms. */
    private static double percentileMs(String wrkOutput, String percentile) {
        Matcher m = Pattern.compile("\\s" + Pattern.quote(percentile) + "\\s+([0-9.]+)(us|ms|s)").matcher(wrkOutput);
        if (!m.find()) {
            throw new IllegalStateException("no " + percentile + " latency in wrk output: " + wrkOutput);
        }
        double value = Double.parseDouble(m.group(1));
        return switch (m.group(2)) {
            case "us" -> value / 1000;
            case "s" -> value * 1000;
            default -> value;
        };
    }

    private static String luaString(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /** The ceiling: one idempotent producer (acks=all, the ingest's linger) writing the same records as fast as it can. */
    private static double plainProducer(DataPlaneFixture dp, int count) throws Exception {
        String topic = dp.names.ingestionTopic(UA_0_0) + "_ceiling";
        dp.createTopics(Set.of(topic));
        Properties p = new Properties();
        p.putAll(dp.kafka.commonClientProperties());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            try {
                values.add(JSON.writeValueAsBytes(IngestClient.userActivity("0.0", "wrk-" + i, i)));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            // Metadata and producer id before the clock starts, as the node's producers have them.
            producer.send(new ProducerRecord<>(topic, values.get(0))).get();
            long start = System.nanoTime();
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topic, values.get(i % 100)));
            }
            producer.flush();
            return count / ((System.nanoTime() - start) / 1e9);
        }
    }

    /** Waits until the table sync has landed everything (count unchanged for 3 s). */
    private static long awaitStableCount(DataPlaneFixture dp, String table) throws InterruptedException {
        long last = -1;
        long stableSince = System.nanoTime();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            long now = count(dp, table);
            if (now != last) {
                last = now;
                stableSince = System.nanoTime();
            } else if (now > 0 && System.nanoTime() - stableSince > Duration.ofSeconds(3).toNanos()) {
                return now;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException(table + " never settled; last count " + last);
    }

    private static long count(DataPlaneFixture dp, String table) {
        return Long.parseLong(join(dp.clickhouse.query("SELECT count() FROM " + dp.clickhouse.qualified(table))).get(0).get(0));
    }

    /** The bench's project: UserActivity 0.0, then 0.1 and the migration; the warm-up model beside it when there is one. */
    private static String project(boolean warmUpMigrated, boolean migrated) {
        StringBuilder models = new StringBuilder("models = [ { name = UserActivity, versions = [" + V0_0 + (migrated ? "," + V0_1 : "") + "] }");
        List<String> flows = new ArrayList<>();
        if (LOAD_WARM_UP_ROWS > 0) {
            models.append(", { name = LoadWarmUp, versions = [").append(V0_0).append(warmUpMigrated ? "," + V0_1 : "").append("] }");
            if (warmUpMigrated) {
                flows.add("{ source = \"LoadWarmUp/0.0\", target = \"LoadWarmUp/0.1\" }");
            }
        }
        if (migrated) {
            flows.add("{ source = \"UserActivity/0.0\", target = \"UserActivity/0.1\" }");
        }
        return models + " ]\nflows = [ " + String.join(", ", flows) + " ]\n";
    }

    /** Rows of a bulk import (origin "bulk-import", not a topic) straight into a version's table. */
    private static void bulkImport(DataPlaneFixture dp, VersionRef version, long rows) {
        join(dp.clickhouse.execute("INSERT INTO " + dp.clickhouse.qualified(dp.names.table(version))
                + " (eventId, timestamp, userId, activity, _src_topic, _src_partition, _src_offset)"
                + " SELECT concat('bulk-', toString(number)), toDateTime(1700000000 + intDiv(number, 100)),"
                + " concat('u', toString(number % 1000)), 'view:page@/home', 'bulk-import', toInt32(0), toInt64(number)"
                + " FROM system.numbers LIMIT " + rows));
    }

    /**
     * The uncounted first load (LOAD_WARM_UP_ROWS): applied, then awaited until every row is in its new
     * table. Without the ingest part, the nodes first take the wrk warm-up's ingest into the warm-up
     * model: 40 s after their start a cluster's JVMs were still JIT-compiling hundreds of methods a
     * second, with half of their CPU during a 150k-row load that followed a 300k-row warm-up load at
     * once (after 150 s of ingest and a ~1M-row warm-up load, still 2.45 of 5.1 CPU s in the load's
     * first 4 s: what the apply touches first is compiled then; docs/benchmarks.md).
     */
    private static void warmUpLoad(DataPlaneFixture dp, Nodes nodes, Path dir, Path definition) throws Exception {
        long ingested = 0;
        if (!PARTS.contains("ingest") && !WRK_WARM_UP.isZero()) {
            List<String> urls = nodes.ingest.stream().map(base -> base + "/ingest/LoadWarmUp/0.0").toList();
            wrk(dir, urls, 1, 8 * urls.size(), WRK_WARM_UP, nodes.pids(), brokerPid());
            ingested = awaitStableCount(dp, dp.names.table(WARM_UP_0_0));
        }
        long rows = ingested + LOAD_WARM_UP_ROWS;
        System.out.println("warm-up load of " + rows + " rows (not counted)");
        bulkImport(dp, WARM_UP_0_0, LOAD_WARM_UP_ROWS);
        long start = System.nanoTime();
        apply(nodes.admin.get(0), definition);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (count(dp, dp.names.table(WARM_UP_0_1)) < rows) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("warm-up load did not finish in " + TIMEOUT);
            }
            Thread.sleep(100);
        }
        System.out.printf("warm-up load: %,d rows in the new table after %.1f s%n", rows, (System.nanoTime() - start) / 1e9);
    }

    private static void apply(String admin, Path definition) throws Exception {
        AdminClient.Reply applied = new AdminClient(List.of(admin), TOKEN).post("/project/apply", Files.readString(definition));
        if (applied.status() != 200) {
            throw new IllegalStateException("apply failed: " + applied.status() + " " + applied.body());
        }
    }

    private static String initialLoad(DataPlaneFixture dp, Nodes nodes, Path definition, long rows) throws Exception {
        String admin = nodes.admin.get(0);
        String source = dp.clickhouse.qualified(dp.names.table(UA_0_0));
        String target = dp.names.table(UA_0_1);
        long broker = Long.parseLong(System.getProperty("bench.broker-pid", "0").isBlank() ? "0" : System.getProperty("bench.broker-pid"));
        long clickhouse = Long.parseLong(System.getProperty("bench.clickhouse-pid", "0").isBlank() ? "0" : System.getProperty("bench.clickhouse-pid"));
        try (IngestProbe probe = new IngestProbe(nodes.ingest)) {
            System.out.println("live-ingest probe idle for " + PROBE_IDLE.toSeconds() + " s (" + PROBE_RATE + " requests/s)");
            Thread.sleep(PROBE_IDLE.toMillis());
            System.out.println("initial load of " + rows + " rows");
            double[] cpuBefore = cpu(nodes.pids, broker, clickhouse);
            long start = System.nanoTime();
            apply(admin, definition);
            long done = 0;
            long landed = 0;
            long toLoad = -1;
            double loadPhaseRate = 0;
            double[] cpuDone = null;
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while ((done == 0 || landed == 0) && System.nanoTime() < deadline) {
                if (done == 0) {
                    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(admin + "/migrations/" + MIGRATION)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200) {
                        JsonNode progress = JSON.readTree(r.body());
                        if ("done".equals(progress.path("phase").asText())) {
                            done = System.nanoTime();
                            cpuDone = cpu(nodes.pids, broker, clickhouse);
                            toLoad = progress.path("rowsToLoad").asLong();
                            loadPhaseRate = progress.path("rowsPerSecond").asDouble();
                        }
                    }
                }
                if (landed == 0 && count(dp, target) >= rows) {
                    landed = System.nanoTime();
                }
                Thread.sleep(100);
            }
            if (done == 0 || landed == 0) {
                throw new IllegalStateException("initial load did not finish in " + TIMEOUT);
            }
            String idle = probe.percentiles(start - PROBE_IDLE.toNanos(), start);
            String loading = probe.percentiles(start, done);
            String ceilingTable = dp.clickhouse.qualified("load_ceiling");
            join(dp.clickhouse.execute("CREATE TABLE " + ceilingTable + " AS " + dp.clickhouse.qualified(target)));
            String columns = "eventId, timestamp, userId, activity, region, _src_topic, _src_partition, _src_offset";
            double clickhouseBefore = clickhouse == 0 ? 0 : CpuUse.processSeconds(clickhouse);
            long ceilingStart = System.nanoTime();
            join(dp.clickhouse.execute("INSERT INTO " + ceilingTable + " (" + columns + ") SELECT eventId, timestamp, userId, activity,"
                    + " 'unknown', _src_topic, _src_partition, _src_offset FROM " + source));
            double ceiling = rows / ((System.nanoTime() - ceilingStart) / 1e9);
            double ceilingCpu = clickhouse == 0 ? 0 : (CpuUse.processSeconds(clickhouse) - clickhouseBefore) * 1e6 / rows;
            double toTopic = toLoad / ((done - start) / 1e9);
            double toTable = rows / ((landed - start) / 1e9);
            String where = nodes.pids.size() == 1 ? "one node" : nodes.pids.size() + " nodes";
            return String.join("\n",
                    DataPlaneBench.row(String.format("initial load of %,d rows on %s, apply -> phase done (rows in the flow input topic, %.1f s)", toLoad, where, (done - start) / 1e9), toTopic, ceiling, 0),
                    DataPlaneBench.row(String.format("initial load of %,d rows on %s, apply -> all rows in the new table (%.1f s)", rows, where, (landed - start) / 1e9), toTable, ceiling, 0),
                    "",
                    String.format("the load phase alone (load started, i.e. cut recorded and counted, -> done; the rate /migrations reports): %,.0f rows/s", loadPhaseRate),
                    String.format("CPU s per 1M rows, apply -> phase done: node JVM(s) %.2f + broker %.2f + ClickHouse %.2f (the load, the flow behind it, the probe); INSERT ... SELECT: ClickHouse %.2f",
                            (cpuDone[0] - cpuBefore[0]) * 1e6 / toLoad, (cpuDone[1] - cpuBefore[1]) * 1e6 / toLoad, (cpuDone[2] - cpuBefore[2]) * 1e6 / toLoad, ceilingCpu),
                    "live ingest (1-record requests, " + PROBE_RATE + "/s, spread over the nodes): idle " + idle + "; during the load (apply -> done) " + loading);
        }
    }

    /** CPU seconds so far of the nodes, the broker, ClickHouse. */
    private static double[] cpu(List<Long> nodes, long broker, long clickhouse) {
        double jvms = nodes.stream().mapToDouble(CpuUse::processSeconds).sum();
        return new double[] {jvms, broker == 0 ? 0 : CpuUse.processSeconds(broker), clickhouse == 0 ? 0 : CpuUse.processSeconds(clickhouse)};
    }

    /**
     * Live ingest beside the load: 1-record requests at a fixed rate, round-robin over the nodes, each
     * timed. A request that takes longer than the interval delays the next (latency under a closed
     * loop, so a stall shows as one slow request, not as many).
     */
    private static final class IngestProbe implements AutoCloseable {
        private final List<long[]> samples = java.util.Collections.synchronizedList(new ArrayList<>());
        private final Thread thread;
        private volatile boolean running = true;

        IngestProbe(List<String> ingest) {
            thread = new Thread(() -> {
                long interval = 1_000_000_000L / PROBE_RATE;
                long next = System.nanoTime();
                for (int i = 0; running; i++) {
                    String url = ingest.get(i % ingest.size()) + "/ingest/UserActivity/0.0";
                    try {
                        String body = JSON.writeValueAsString(JSON.createArrayNode().add(IngestClient.userActivity("0.0", "probe-" + i, i)));
                        long sent = System.nanoTime();
                        int status = HTTP.send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
                        long took = System.nanoTime() - sent;
                        samples.add(new long[] {sent, status == 200 ? took : -1});
                        next += interval;
                        long wait = next - System.nanoTime();
                        if (wait > 0) {
                            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                        } else {
                            next = System.nanoTime();
                        }
                    } catch (InterruptedException e) {
                        return;
                    } catch (IOException e) {
                        samples.add(new long[] {System.nanoTime(), -1});
                    }
                }
            }, "ingest-probe");
            thread.setDaemon(true);
            thread.start();
        }

        /** p50 / p99 / max of the requests sent in [from, to), and how many failed. */
        String percentiles(long from, long to) {
            List<Long> took = new ArrayList<>();
            int failed = 0;
            synchronized (samples) {
                for (long[] s : samples) {
                    if (s[0] >= from && s[0] < to) {
                        if (s[1] < 0) {
                            failed++;
                        } else {
                            took.add(s[1]);
                        }
                    }
                }
            }
            if (took.isEmpty()) {
                return "no requests";
            }
            took.sort(null);
            return String.format("p50 %.1f ms / p99 %.1f ms / max %.1f ms (%d requests, %d failed)",
                    took.get(took.size() / 2) / 1e6, took.get((int) Math.min(took.size() - 1, Math.ceil(took.size() * 0.99) - 1)) / 1e6,
                    took.get(took.size() - 1) / 1e6, took.size(), failed);
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.interrupt();
            thread.join(5_000);
        }
    }
}
