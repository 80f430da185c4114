package io.moose.flows.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import io.moose.flows.testing.CpuBurners;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.IntStream;

/**
 * One chaos run (issue "Proof"): an N-node cluster of real node processes (ops/cluster) on real
 * Kafka, ClickHouse and PostgreSQL (ops/infra), the RFC example under steady ingestion, the 0.1
 * versions with their migrations and then a backfill flow applied at runtime, faults injected on
 * the seed's schedule, then quiescence and an exact per-eventId count of every table.
 *
 * <p>Each run isolates itself by a run id: its own Kafka namespace, ClickHouse database and
 * PostgreSQL schema for the journal, so runs can share one set of services.
 */
public final class ChaosRunner {

    static final String ADMIN_TOKEN = "chaos-admin-token";
    /** A marker slower than this to arrive in its table counts as the table being stale. */
    static final long FRESH_MS = 5_000;
    /** An ingest slower than this to be accepted counts as ingest being disrupted. */
    static final long PROMPT_INGEST_MS = 2_000;

    /** Where the services are; ops/infra env prints these. */
    public record Endpoints(String kafkaBootstrap, String clickhouseUrl, String postgresUrl, String postgresUser,
                            String postgresPassword) {
        static Endpoints fromEnvOutput(String output) {
            Map<String, String> env = new HashMap<>();
            output.lines().filter(l -> l.contains("=")).forEach(l -> {
                int eq = l.indexOf('=');
                env.put(l.substring(0, eq).trim().replaceFirst("^export ", ""), l.substring(eq + 1).trim().replace("\"", "").replace("'", ""));
            });
            return new Endpoints(env.get("KAFKA_BOOTSTRAP"), env.get("CLICKHOUSE_URL"), env.get("POSTGRES_URL"),
                    env.getOrDefault("POSTGRES_USER", "moose"), env.getOrDefault("POSTGRES_PASSWORD", "moose"));
        }
    }

    /**
     * @param endpoints    empty = bring the services up with {@code ops/infra up} (as this run's
     *                     environment selects) and ask {@code ops/infra env}
     * @param scriptEnv    extra environment for ops/infra and ops/cluster (MOOSE_INFRA_HOME, ports)
     * @param rate         records per second the load generator aims at
     * @param quiescence   how long to wait for the tables to settle after the load stopped
     */
    public record Settings(Path repo, Path workDir, long seed, Duration duration, int nodes, Set<FaultKind> faults,
                           int rate, Optional<Endpoints> endpoints, Map<String, String> scriptEnv,
                           int ingestBase, int adminBase, int remoteBase, Duration quiescence, boolean keepCluster) {
    }

    private final Settings settings;
    private final String runId;
    private final Path runDir;
    private final ChaosReport report = new ChaosReport();
    private final Ledger ledger = new Ledger();
    private final AtomicReference<List<String>> versions = new AtomicReference<>(List.of("0.0"));
    private final List<String> flowsExpected = new ArrayList<>();
    private long startNanos;
    private OpsScripts ops;
    private AdminClient admin;
    private ClickHouseProbe clickhouse;
    private boolean backfillApplied;

    public ChaosRunner(Settings settings) {
        this.settings = settings;
        this.runId = "chaos_" + settings.seed() + "_" + Long.toString(System.currentTimeMillis() / 1000, 36);
        this.runDir = settings.workDir().resolve(runId);
    }

    public String runId() {
        return runId;
    }

    public Path runDir() {
        return runDir;
    }

    /** Runs the scenario and returns its report; an error of the runner itself is a failed report too. */
    public ChaosReport run() throws InterruptedException {
        FaultPlan plan = FaultPlan.of(settings.seed(), settings.duration(), settings.nodes(), settings.faults());
        report.header.add("run " + runId + ", seed " + settings.seed() + ", duration " + settings.duration().toSeconds() + "s, "
                + settings.nodes() + " nodes, faults " + (settings.faults().isEmpty() ? "none"
                : String.join(",", settings.faults().stream().map(FaultKind::cliName).toList())) + ", ~" + settings.rate() + " records/s");
        report.header.add("logs and node logs: " + runDir);
        LoadGenerator load = null;
        FreshnessProbe probe = null;
        try {
            Files.createDirectories(runDir);
            Map<String, String> env = new HashMap<>(settings.scriptEnv());
            ops = new OpsScripts(settings.repo(), env, runDir.resolve("ops.log"));
            Endpoints endpoints = settings.endpoints().orElseGet(() -> {
                ops.infra("up");
                return Endpoints.fromEnvOutput(ops.infra("env"));
            });
            clickhouse = new ClickHouseProbe(endpoints.clickhouseUrl(), runId);
            admin = new AdminClient(urls(settings.adminBase()), ADMIN_TOKEN);
            IngestClient ingest = new IngestClient(urls(settings.ingestBase()), Duration.ofSeconds(20));

            String v0 = resource("chaos/project-v0.conf");
            String full = Files.readString(settings.repo().resolve("conf/project.conf"));
            String withBackfill = full + resource("chaos/backfill.conf");
            boolean applyAvailable = startCluster(endpoints, v0, withBackfill, env);
            log("cluster of " + settings.nodes() + " up; apply " + (applyAvailable ? "available" : "unavailable"));
            awaitTable("UserActivity_0_0", Duration.ofMinutes(3));

            startNanos = System.nanoTime();
            load = new LoadGenerator(runId, ingest, ledger, versions::get, settings.rate(), settings.seed());
            probe = new FreshnessProbe(runId, ingest, ledger, clickhouse, startNanos);
            load.start();
            probe.start();
            log("load started");

            List<Step> steps = new ArrayList<>();
            if (applyAvailable) {
                steps.add(new Step(plan.applyAt(), "apply the full definition (0.1 versions, migrations)", () -> apply(full, "0.1")));
                steps.add(new Step(plan.backfillAt(), "apply a backfill flow UserActivity 0.0 -> ActivityDigest 0.0", () -> {
                    apply(withBackfill, null);
                    backfillApplied = true;
                }));
            }
            for (FaultPlan.Planned fault : plan.faults()) {
                steps.add(new Step(fault.at(), null, () -> inject(fault)));
            }
            steps.sort(Comparator.comparing(Step::at));
            for (Step step : steps) {
                sleepUntil(step.at().toMillis());
                if (step.title() != null) {
                    double at = seconds();
                    step.action().run();
                    report.timeline.add(String.format("%.1fs: %s (done at %.1fs)", at, step.title(), seconds()));
                    log(step.title() + " done");
                } else {
                    step.action().run();
                }
            }
            sleepUntil(settings.duration().toMillis());
            load.stop();
            probe.stopSending();
            double loadEnd = seconds();
            report.timeline.add(String.format("%.1fs: load stopped", loadEnd));
            log("load stopped; waiting for quiescence");

            awaitQuiescence();
            probe.awaitArrivals(Duration.ofSeconds(30));
            report.timeline.add(String.format("%.1fs: quiescent", seconds()));
            summarizeLoad(load);
            summarizeProbe(probe.samples(), (long) (loadEnd * 1000));
            verifyTables();
            verifyStatus();
        } catch (RuntimeException | IOException | SQLException e) {
            report.failures.add("the run itself failed: " + e);
            e.printStackTrace();
        } finally {
            if (load != null) {
                load.stop();
            }
            if (probe != null) {
                probe.stopSending();
            }
            if (ops != null && !settings.keepCluster()) {
                try {
                    ops.cluster("down");
                } catch (RuntimeException e) {
                    report.failures.add("ops/cluster down failed: " + e.getMessage());
                }
            }
        }
        return report;
    }

    private record Step(Duration at, String title, ThrowingRunnable action) {
    }

    private interface ThrowingRunnable {
        void run() throws InterruptedException, IOException;
    }

    // --- cluster -----------------------------------------------------------------------------------

    /** Brings the nodes up on the starting definition; returns whether POST /project/apply exists. */
    private boolean startCluster(Endpoints endpoints, String v0, String withBackfill, Map<String, String> env)
            throws IOException, SQLException, InterruptedException {
        Path v0File = runDir.resolve("project-v0.conf");
        Files.writeString(v0File, v0);
        String schema = runId;
        createJournalSchema(endpoints, schema);
        configureCluster(endpoints, env, v0File, schema);
        ops.cluster("up", String.valueOf(settings.nodes()));
        awaitMembers(settings.nodes(), Duration.ofMinutes(3));
        // Applying the definition in force changes nothing, so this only tells whether the route exists.
        AdminClient.Reply probe = admin.post("/project/apply", v0);
        if (probe.status() != 404) {
            flowsExpected.add("UserActivity_0_0_ParsedActivity_0_0");
            return true;
        }
        // The project singleton keeps the definition it was seeded with, so restarting nodes with a
        // bigger file would change nothing: start over on a fresh journal with the whole definition.
        report.header.add("POST /project/apply is not available (404): the cluster runs the full definition with the"
                + " backfill flow from the start; migrations and the backfill have no history to load");
        // Nothing was ingested yet and the next start uses a fresh journal: no need for a slow graceful leave.
        for (int i = 1; i <= settings.nodes(); i++) {
            ops.cluster("kill", String.valueOf(i));
        }
        Path fullFile = runDir.resolve("project-full.conf");
        Files.writeString(fullFile, withBackfill);
        schema = runId + "_full";
        createJournalSchema(endpoints, schema);
        configureCluster(endpoints, env, fullFile, schema);
        ops.cluster("up", String.valueOf(settings.nodes()));
        awaitMembers(settings.nodes(), Duration.ofMinutes(3));
        versions.set(List.of("0.0", "0.1"));
        backfillApplied = true;
        return false;
    }

    private void configureCluster(Endpoints endpoints, Map<String, String> env, Path projectFile, String journalSchema) {
        String journalUrl = endpoints.postgresUrl() + (endpoints.postgresUrl().contains("?") ? "&" : "?") + "currentSchema=" + journalSchema;
        String opts = String.join(" ",
                "-Dmoose-flows.project-file=" + projectFile,
                "-Dmoose-flows.namespace=" + runId,
                "-Dmoose-flows.clickhouse.database=" + runId,
                "-Dmoose-flows.clickhouse.url=" + endpoints.clickhouseUrl(),
                "-Dmoose-flows.kafka.bootstrap-servers=" + endpoints.kafkaBootstrap(),
                "-Dmoose-flows.journal.url=" + journalUrl,
                "-Dmoose-flows.journal.user=" + endpoints.postgresUser(),
                "-Dmoose-flows.journal.password=" + endpoints.postgresPassword(),
                "-Dmoose-flows.admin.token=" + ADMIN_TOKEN);
        env.put("MOOSE_NODE_OPTS", opts);
        env.put("MOOSE_CLUSTER_HOME", runDir.resolve("cluster").toString());
        env.put("MOOSE_CLUSTER_INGEST_BASE", String.valueOf(settings.ingestBase()));
        env.put("MOOSE_CLUSTER_ADMIN_BASE", String.valueOf(settings.adminBase()));
        env.put("MOOSE_CLUSTER_REMOTE_BASE", String.valueOf(settings.remoteBase()));
        env.put("MOOSE_CLUSTER_CONTACT_POINTS", String.valueOf(Math.min(3, settings.nodes())));
        // Several JVMs starting at once on a small machine take their time.
        env.putIfAbsent("MOOSE_CLUSTER_READY_TIMEOUT", "300");
        ops = new OpsScripts(settings.repo(), env, runDir.resolve("ops.log"));
    }

    /** The journal of this run in its own schema, so runs sharing a PostgreSQL never see each other's entities. */
    private void createJournalSchema(Endpoints endpoints, String schema) throws IOException, SQLException {
        String ddl = Files.readString(settings.repo().resolve("ops/postgres/journal-schema.sql")).replace("public.", schema + ".");
        try (Connection c = DriverManager.getConnection(endpoints.postgresUrl(), endpoints.postgresUser(), endpoints.postgresPassword());
             Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA IF NOT EXISTS " + schema);
            s.execute(ddl);
        }
    }

    private void awaitMembers(int expected, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            boolean all = true;
            for (int i = 1; i <= settings.nodes(); i++) {
                all &= admin.membersUp(i).orElse(0) == expected;
            }
            if (all) {
                return;
            }
            Thread.sleep(1000);
        }
        throw new IllegalStateException("the cluster did not reach " + expected + " Up members within " + timeout);
    }

    private void awaitTable(String table, Duration timeout) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                if (clickhouse.tableExists(table)) {
                    return;
                }
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("table " + table + " not created within " + timeout);
            }
            Thread.sleep(500);
        }
    }

    // --- definition changes --------------------------------------------------------------------------

    /** Applies a definition, retrying while the cluster cannot (a fault may be under way). */
    private void apply(String text, String newVersion) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        AdminClient.Reply reply;
        do {
            reply = admin.post("/project/apply", text);
            if (reply.ok()) {
                break;
            }
            Thread.sleep(2000);
        } while (System.nanoTime() < deadline);
        if (!reply.ok()) {
            throw new IllegalStateException("POST /project/apply failed: " + reply.status() + " " + reply.body());
        }
        if (newVersion != null) {
            flowsExpected.addAll(List.of("UserActivity_0_1_ParsedActivity_0_1", "UserActivity_0_0_UserActivity_0_1",
                    "ParsedActivity_0_0_ParsedActivity_0_1"));
            versions.set(List.of("0.0", newVersion));
        } else {
            flowsExpected.add("UserActivity_0_0_ActivityDigest_0_0");
        }
    }

    // --- faults --------------------------------------------------------------------------------------

    private void inject(FaultPlan.Planned fault) throws InterruptedException {
        double started = seconds();
        log("fault " + fault.describe() + " starts");
        String note = "";
        switch (fault.kind()) {
            case KILL -> {
                ops.cluster("kill", String.valueOf(fault.node()));
                Thread.sleep(fault.downtime().toMillis());
                ops.cluster("start", String.valueOf(fault.node()));
            }
            case PAUSE -> {
                ops.cluster("pause", String.valueOf(fault.node()));
                Thread.sleep(fault.downtime().toMillis());
                ops.cluster("resume", String.valueOf(fault.node()));
                note = afterResume(fault.node());
            }
            case ROLLING_RESTART -> {
                for (int i = 1; i <= settings.nodes(); i++) {
                    ops.cluster("stop", String.valueOf(i));
                    ops.cluster("start", String.valueOf(i));
                    awaitMembers(settings.nodes(), Duration.ofMinutes(3));
                }
            }
            case KAFKA_RESTART -> serviceDown("kafka", fault.downtime());
            case CLICKHOUSE_DOWN -> serviceDown("clickhouse", fault.downtime());
            case POSTGRES_DOWN -> serviceDown("postgres", fault.downtime());
            case STARVE -> note = starve(fault.downtime());
            case JOURNAL_STALL -> {
                for (int i = 0; i < JOURNAL_STALLS; i++) {
                    serviceDown("postgres", fault.downtime());
                    Thread.sleep(fault.downtime().toMillis());
                }
                note = JOURNAL_STALLS + " stalls";
            }
        }
        double healed = seconds();
        log("fault " + fault.describe() + " healed");
        faultRecords.add(new FaultRecord(fault, started, healed, note));
    }

    private record FaultRecord(FaultPlan.Planned fault, double startedAt, double healedAt, String note) {
    }

    private final List<FaultRecord> faultRecords = new ArrayList<>();

    /** How often a journal-stall fault stops PostgreSQL. */
    private static final int JOURNAL_STALLS = 3;
    /** Busy-loop processes of a starve fault: twice the cores, so the nodes get a third of the CPU. */
    private static final int BURNERS = 2 * Runtime.getRuntime().availableProcessors();

    /**
     * Busy loops beside the nodes for {@code downtime}; each ends by itself shortly after even if this
     * JVM dies. Starved nodes are slow, not dead: none may be downed, so afterwards every node must
     * still see all of them Up.
     */
    private String starve(Duration downtime) throws InterruptedException {
        try (CpuBurners burners = CpuBurners.start(BURNERS, downtime.plusSeconds(10))) {
            Thread.sleep(downtime.toMillis());
        }
        // A node that was downed exits and stays stopped; a merely slow answer gets a few seconds.
        boolean allUp = false;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!allUp && System.nanoTime() < deadline) {
            allUp = IntStream.rangeClosed(1, settings.nodes()).allMatch(i -> ops.nodeAlive(i) && membersUp(i) == settings.nodes());
            if (!allUp) {
                Thread.sleep(1_000);
            }
        }
        if (!allUp) {
            report.failures.add("starve: a node was downed or lost while only starved of CPU");
        }
        return BURNERS + " burners; " + (allUp ? "every node still a member" : "a node was downed");
    }

    private void serviceDown(String service, Duration downtime) throws InterruptedException {
        ops.infra("stop", service);
        Thread.sleep(downtime.toMillis());
        ops.infra("start", service);
    }

    /**
     * A node paused beyond the SBR's timeout was downed meanwhile; on waking it learns so and exits
     * (coordinated shutdown exits the JVM), and is started again, as an orchestrator would.
     */
    private String afterResume(int node) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            if (!ops.nodeAlive(node)) {
                ops.cluster("start", String.valueOf(node));
                awaitMembers(settings.nodes(), Duration.ofMinutes(3));
                return "node " + node + " was downed while paused, exited on resume and was started again";
            }
            if (admin.ready(node) && IntStream.rangeClosed(1, settings.nodes()).allMatch(i -> membersUp(i) == settings.nodes())) {
                return "node " + node + " stayed a member";
            }
            Thread.sleep(1000);
        }
        throw new IllegalStateException("node " + node + " neither rejoined nor exited within 2 min of SIGCONT");
    }

    private int membersUp(int node) {
        try {
            return admin.membersUp(node).orElse(-1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    // --- quiescence and verification ----------------------------------------------------------------

    private Map<String, Set<String>> expectedTables() {
        Set<String> v0 = ledger.accepted("0.0");
        Set<String> both = new HashSet<>(v0);
        both.addAll(ledger.accepted("0.1"));
        Map<String, Set<String>> tables = new LinkedHashMap<>();
        tables.put("UserActivity_0_0", v0);
        tables.put("ParsedActivity_0_0", v0);
        if (versions.get().contains("0.1")) {
            tables.put("UserActivity_0_1", both);
            tables.put("ParsedActivity_0_1", both);
        }
        if (backfillApplied) {
            tables.put("ActivityDigest_0_0", v0);
        }
        return tables;
    }

    private Set<String> unknownFor(String table) {
        Set<String> unknown = new HashSet<>(ledger.unknown("0.0"));
        if (table.endsWith("_0_1")) {
            unknown.addAll(ledger.unknown("0.1"));
        }
        return unknown;
    }

    /** Until every table holds at least what was accepted and stopped changing, or nothing moved for two minutes. */
    private void awaitQuiescence() throws InterruptedException {
        long deadline = System.nanoTime() + settings.quiescence().toNanos();
        Map<String, Long> last = Map.of();
        long lastChange = System.nanoTime();
        int stablePolls = 0;
        while (System.nanoTime() < deadline) {
            Thread.sleep(3000);
            Map<String, Long> counts = new LinkedHashMap<>();
            boolean reached = true;
            try {
                for (Map.Entry<String, Set<String>> t : expectedTables().entrySet()) {
                    long n = clickhouse.tableExists(t.getKey()) ? clickhouse.count(t.getKey()) : 0;
                    counts.put(t.getKey(), n);
                    reached &= n >= t.getValue().size();
                }
            } catch (IOException e) {
                continue;
            }
            boolean migrationsDone = migrationsDone().orElse(true);
            if (!counts.equals(last)) {
                last = counts;
                lastChange = System.nanoTime();
                stablePolls = 0;
            } else {
                stablePolls++;
            }
            if (reached && migrationsDone && stablePolls >= 2) {
                return;
            }
            if (System.nanoTime() - lastChange > Duration.ofMinutes(2).toNanos()) {
                log("tables stopped changing short of the expected counts: " + counts);
                return;
            }
        }
        log("quiescence timeout after " + settings.quiescence());
    }

    private Optional<Boolean> migrationsDone() throws InterruptedException {
        AdminClient.Reply reply = admin.get("/migrations");
        if (!reply.ok()) {
            return Optional.empty();
        }
        try {
            for (JsonNode m : reply.json().path("migrations")) {
                if (!m.path("phase").asText().equalsIgnoreCase("done")) {
                    return Optional.of(false);
                }
            }
            return Optional.of(true);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private void verifyTables() throws IOException, InterruptedException {
        Map<String, Set<String>> expected = expectedTables();
        for (Map.Entry<String, Set<String>> t : expected.entrySet()) {
            String table = t.getKey();
            Set<String> accepted = t.getValue();
            Set<String> unknown = unknownFor(table);
            Map<String, Integer> found = new HashMap<>();
            long rows = 0;
            if (clickhouse.tableExists(table)) {
                for (List<String> row : clickhouse.query("SELECT eventId FROM " + clickhouse.table(table))) {
                    found.merge(row.get(0), 1, Integer::sum);
                    rows++;
                }
            }
            long missing = accepted.stream().filter(id -> !found.containsKey(id)).count();
            long unexpected = found.keySet().stream().filter(id -> !accepted.contains(id) && !unknown.contains(id)).count();
            long duplicates = found.values().stream().filter(c -> c > 1).count();
            long unknownArrived = unknown.stream().filter(found::containsKey).count();
            long duplicateCoordinates = rows == 0 ? 0 : Long.parseLong(clickhouse.query("SELECT count() FROM (SELECT _src_topic, _src_partition, _src_offset, count() AS c FROM "
                    + clickhouse.table(table) + " GROUP BY _src_topic, _src_partition, _src_offset HAVING c > 1)").get(0).get(0));
            String from = table.endsWith("_0_1") ? "0.0 + 0.1" : "0.0";
            ChaosReport.TableResult result = new ChaosReport.TableResult(table, from, accepted.size(), unknown.size(), rows,
                    missing, unexpected, duplicates, duplicateCoordinates, unknownArrived);
            report.tables.add(result);
            if (!result.passed()) {
                report.failures.add(table + ": " + missing + " accepted records missing, " + unexpected + " unexpected, "
                        + duplicates + " duplicate eventIds, " + duplicateCoordinates + " duplicate source coordinates");
            }
        }
    }

    private void verifyStatus() throws InterruptedException, IOException {
        AdminClient.Reply flows = admin.get("/flows");
        if (flows.status() == 404) {
            report.status.add("admin routes unavailable (GET /flows answered 404): flow states not checked");
        } else if (!flows.ok()) {
            report.failures.add("GET /flows failed: " + flows.status() + " " + flows.body());
        } else {
            Map<String, String> states = new HashMap<>();
            for (JsonNode f : flows.json().path("flows")) {
                states.put(f.path("id").asText(), f.path("state").asText());
                report.status.add("flow " + f.path("id").asText() + ": " + f.path("state").asText() + " on " + f.path("node").asText());
            }
            for (String id : flowsExpected) {
                String state = states.getOrDefault(id, "absent");
                if (!state.equalsIgnoreCase("running")) {
                    report.failures.add("flow " + id + " is " + state + ", not running");
                }
            }
        }
        AdminClient.Reply migrations = admin.get("/migrations");
        if (migrations.status() == 404) {
            report.status.add("admin routes unavailable (GET /migrations answered 404): migration phases not checked");
        } else if (!migrations.ok()) {
            report.failures.add("GET /migrations failed: " + migrations.status() + " " + migrations.body());
        } else {
            for (JsonNode m : migrations.json().path("migrations")) {
                String line = "migration " + m.path("flowId").asText() + ": " + m.path("phase").asText()
                        + ", " + m.path("rowsLoaded").asText() + "/" + m.path("rowsToLoad").asText() + " rows loaded";
                report.status.add(line);
                if (!m.path("phase").asText().equalsIgnoreCase("done")) {
                    report.failures.add(line + " (not done)");
                }
            }
        }
    }

    // --- summaries ------------------------------------------------------------------------------------

    private void summarizeLoad(LoadGenerator load) {
        report.load.add("records sent " + load.recordsSent() + "; accepted into 0.0: " + ledger.accepted("0.0").size()
                + ", into 0.1: " + ledger.accepted("0.1").size() + "; unknown outcome: "
                + (ledger.unknown("0.0").size() + ledger.unknown("0.1").size()));
        report.load.add("requests accepted " + ledger.requestsAccepted.get() + ", refused and retried " + ledger.requestsRefused.get()
                + ", unknown " + ledger.requestsUnknown.get() + ", abandoned after 60 s of refusals " + ledger.requestsAbandoned.get()
                + ", malformed " + ledger.requestsBad.get());
        if (ledger.requestsBad.get() > 0) {
            report.failures.add(ledger.requestsBad.get() + " generated requests were rejected as malformed");
        }
    }

    private void summarizeProbe(List<FreshnessProbe.Sample> samples, long loadEndMs) {
        long arrived = samples.stream().filter(s -> s.arrivedAt() >= 0).count();
        long accepted = samples.stream().filter(s -> s.acceptedAt() >= 0).count();
        long maxLatency = samples.stream().mapToLong(FreshnessProbe.Sample::arrivalLatency).max().orElse(-1);
        List<Long> latencies = samples.stream().map(FreshnessProbe.Sample::arrivalLatency).filter(l -> l >= 0).sorted().toList();
        long median = latencies.isEmpty() ? -1 : latencies.get(latencies.size() / 2);
        List<Long> arrivals = samples.stream().map(FreshnessProbe.Sample::arrivedAt).filter(a -> a >= 0).sorted().toList();
        long maxGap = 0;
        for (int i = 1; i < arrivals.size(); i++) {
            maxGap = Math.max(maxGap, arrivals.get(i) - arrivals.get(i - 1));
        }
        report.freshness.add(samples.size() + " markers sent, " + accepted + " accepted, " + arrived + " arrived");
        report.freshness.add(String.format("arrival latency: median %.1fs, max %.1fs (the max table-freshness gap)", median / 1000.0, maxLatency / 1000.0));
        report.freshness.add(String.format("longest time without a new marker arriving: %.1fs", maxGap / 1000.0));

        faultRecords.sort(Comparator.comparingDouble(FaultRecord::startedAt));
        for (int i = 0; i < faultRecords.size(); i++) {
            FaultRecord f = faultRecords.get(i);
            long from = (long) (f.startedAt() * 1000);
            long to = i + 1 < faultRecords.size() ? (long) (faultRecords.get(i + 1).startedAt() * 1000) : loadEndMs;
            List<FreshnessProbe.Sample> window = FreshnessProbe.between(samples, from, to);
            long ingestBack = -1;
            long freshBack = -1;
            long maxInWindow = -1;
            for (FreshnessProbe.Sample s : window) {
                long il = s.ingestLatency();
                if (il < 0 || il > PROMPT_INGEST_MS) {
                    ingestBack = Math.max(ingestBack, (il < 0 ? s.sentAt() : s.acceptedAt()) - from);
                }
                long al = s.arrivalLatency();
                maxInWindow = Math.max(maxInWindow, al);
                if (al < 0 || al > FRESH_MS) {
                    freshBack = Math.max(freshBack, (al < 0 ? s.sentAt() : s.arrivedAt()) - from);
                }
            }
            report.faults.add(new ChaosReport.FaultResult(f.fault().describe(), f.fault().at().toMillis() / 1000.0,
                    f.startedAt(), f.healedAt(),
                    ingestBack < 0 ? "never disrupted" : String.format("+%.1fs", ingestBack / 1000.0),
                    freshBack < 0 ? "never stale" : String.format("+%.1fs", freshBack / 1000.0),
                    maxInWindow < 0 ? "-" : String.format("%.1fs", maxInWindow / 1000.0),
                    f.note()));
        }
    }

    // --- helpers --------------------------------------------------------------------------------------

    private List<String> urls(int base) {
        return IntStream.rangeClosed(1, settings.nodes()).mapToObj(i -> "http://127.0.0.1:" + (base + i - 1)).toList();
    }

    private double seconds() {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private void sleepUntil(long msSinceStart) throws InterruptedException {
        long wait = msSinceStart - (System.nanoTime() - startNanos) / 1_000_000;
        if (wait > 0) {
            Thread.sleep(wait);
        }
    }

    private void log(String message) {
        System.out.printf("[chaos %s %s] %s%n", Instant.now(), startNanos == 0 ? "--" : String.format("%.1fs", seconds()), message);
    }

    private static String resource(String name) {
        try (InputStream in = ChaosRunner.class.getClassLoader().getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("resource " + name + " missing from the test classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
