package io.moose.flows.cluster;

import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.testing.ClusterProcesses;
import io.moose.flows.testing.IngestClient;
import io.moose.flows.testing.SteadyLoad;
import io.moose.flows.testing.TableCounts;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 11, table freshness through a graceful rolling restart: three nodes under steady ingest are
 * restarted one after another ({@code -Dmoose.test.rolling-restarts}, default 1 round), each by
 * SIGTERM (coordinated shutdown, shard handoff) and a start, while one marker record per second is
 * ingested into UserActivity/0.0 through any node and timed until its row is in UserActivity_0_0
 * (the same probe as ClusterFailoverIT's rolling restart). The largest wait must stay within
 * {@code -Dmoose.test.rolling-gap-bound-ms} (30 s by default in the suite, like ClusterFailoverIT;
 * the target is 2 s). Every accepted record is in the table exactly once.
 *
 * <p>Prints where the seconds of every move of UserActivity_0_0's table sync went, from the node
 * logs: a rolling restart moves a shard when its node leaves and again when the coordinator
 * rebalances shards onto the rejoined node.
 *
 * <p>Not run by {@code ops/test} (pom.xml excludes it; ClusterFailoverIT's rolling restart covers the
 * same path in the suite): {@code mvn verify -Dit.test=RollingRestartIT -Dtest=none
 * -Dsurefire.failIfNoSpecifiedTests=false -Dmoose.test.rolling-restarts=2} measures.
 */
class RollingRestartIT {

    private static final int NODES = 3;
    private static final int ROUNDS = Integer.getInteger("moose.test.rolling-restarts", 1);
    private static final long GAP_BOUND_MS = Long.getLong("moose.test.rolling-gap-bound-ms", 30_000);
    private static final String TABLE = "UserActivity_0_0";
    /** Typed sharding's default: abs(entityId.hashCode % number-of-shards), 1000 shards. */
    private static final String SHARD = Integer.toString(Math.abs(TABLE.hashCode() % 1000));
    private static final Duration SETTLE = Duration.ofMinutes(5);
    /** After the last start: longer than the coordinator's rebalance interval (10 s), so a move back is measured too. */
    private static final Duration AFTER_LAST_START = Duration.ofSeconds(15);
    /** Admin asks time out fast; shard moves are logged (at DEBUG) for the timeline. */
    private static final String OPTIONS = "-Dmoose-flows.admin.ask-timeout=1s -Dakka.loglevel=DEBUG -Dmoose.log.sharding=DEBUG"
            // A graceful restart needs no failure detection; at load 35-40 on two cores (CPU burners of
            // other work beside it) the starting cluster downed two of its own nodes (SBR) with 2 s and
            // with 5 s before the test began.
            + " -Dakka.cluster.failure-detector.acceptable-heartbeat-pause=10s";

    /** Steps of one move of the table sync and the log line that marks each, in the order they happen. */
    private static final Map<String, Pattern> STEPS = new LinkedHashMap<>();

    static {
        String shard = "TableSync: .*[\\[ ,]" + SHARD + "[\\],]";
        STEPS.put("leave-started", Pattern.compile("Running CoordinatedShutdown"));
        STEPS.put("rebalance-started", Pattern.compile("TableSync: Starting rebalance for shards .*[\\[ ,]" + SHARD + "[\\],]"));
        STEPS.put("shutting-down-shards", Pattern.compile("TableSync: Starting shutting down shards .*[\\[ ,]" + SHARD + "[\\],]"));
        STEPS.put("handoff-begun", Pattern.compile("table sync " + TABLE + ": handoff begun"));
        STEPS.put("drained", Pattern.compile("table sync " + TABLE + ": sink run drained"));
        STEPS.put("handoff-complete", Pattern.compile(shard + " handoff complete"));
        STEPS.put("allocated", Pattern.compile(shard + " allocated at"));
        STEPS.put("shard-started", Pattern.compile("TableSync: Starting shard \\[" + SHARD + "\\] in region"));
        STEPS.put("entity-started", Pattern.compile("table sync " + TABLE + ": entity started here"));
        STEPS.put("resuming", Pattern.compile(TABLE + " table-sync: resuming"));
        STEPS.put("first-insert", Pattern.compile(TABLE + " table-sync: first insert"));
    }

    private record Marker(String id, LocalTime sentAt, long waitedMs) {
    }

    private record Event(LocalTime at, int node, String step, String line) {
    }

    @Test
    void everyRecordLandsOnceAndTheTableStaysFreshWhileEveryNodeRestartsGracefully() throws Exception {
        String v0 = new String(Objects.requireNonNull(getClass().getResourceAsStream("/definitions/v0.conf")).readAllBytes(),
                StandardCharsets.UTF_8);
        try (ClusterProcesses cluster = ClusterProcesses.create(v0, 200, OPTIONS);
             ClickHouse clickhouse = TableCounts.connect(cluster.namespace)) {
            cluster.readyTimeout(Duration.ofMinutes(5));
            cluster.up(NODES);
            cluster.awaitOneCluster(NODES, SETTLE);
            TableCounts tables = new TableCounts(clickhouse);
            List<String> ingest = IntStream.rangeClosed(1, NODES).mapToObj(cluster::ingestUrl).toList();
            try (SteadyLoad live = new SteadyLoad(ingest, "0.0", "live", 20, 100)) {
                TableCounts.await("live records in " + TABLE, SETTLE, () -> tables.rows(TABLE) > 0, () -> "none yet");
                // Every entity placed and started before the first restart, so the first move measured is a leave.
                Thread.sleep(10_000);

                List<Marker> markers = new CopyOnWriteArrayList<>();
                Set<String> sentMarkers = java.util.concurrent.ConcurrentHashMap.newKeySet();
                AtomicBoolean probing = new AtomicBoolean(true);
                Thread probe = new Thread(() -> probe(cluster, tables, probing, markers, sentMarkers), "freshness-probe");
                LocalTime from = LocalTime.now();
                probe.start();
                List<String> loads = new ArrayList<>();
                List<String> phases = new ArrayList<>();
                for (int round = 1; round <= ROUNDS; round++) {
                    for (int node = 1; node <= NODES; node++) {
                        // Each restart starts from one healthy cluster of every node (none downed meanwhile).
                        cluster.awaitOneCluster(NODES, SETTLE);
                        phases.add(LocalTime.now() + " stop node " + node);
                        cluster.stop(node);
                        loads.add(loadAverage());
                        phases.add(LocalTime.now() + " start node " + node);
                        cluster.start(node);
                        phases.add(LocalTime.now() + " node " + node + " ready");
                        loads.add(loadAverage());
                    }
                }
                Thread.sleep(AFTER_LAST_START.toMillis());
                probing.set(false);
                probe.join();
                LocalTime until = LocalTime.now();

                long worst = markers.stream().mapToLong(Marker::waitedMs).max().orElse(-1);
                System.out.printf("rolling restart x%d: largest table-freshness gap %d ms over %d markers; load averages %s%n",
                        ROUNDS, worst, markers.size(), loads);
                System.out.println(report(cluster, from, until, markers, phases));
                live.close();
                assertTrue(live.failure().isEmpty(), () -> live.failure().orElse(""));

                Set<String> accepted = new HashSet<>(live.accepted);
                accepted.addAll(sentMarkers);
                expectExactly(tables, clickhouse, accepted, new HashSet<>(live.unknown));
                assertTrue(worst >= 0 && worst <= GAP_BOUND_MS, TABLE + " stalled for " + worst + " ms (bound " + GAP_BOUND_MS + " ms)");
            }
        }
    }

    /** One marker a second (after the previous one landed), through the first node that takes it. */
    private static void probe(ClusterProcesses cluster, TableCounts tables, AtomicBoolean probing, List<Marker> markers,
                              Set<String> sent) {
        int k = 0;
        while (probing.get()) {
            String id = "marker-" + k++;
            long sentNanos = -1;
            LocalTime sentAt = null;
            for (int node = 1; node <= NODES && sentNanos < 0; node++) {
                try {
                    if (new IngestClient(cluster.ingestUrl(node)).post("UserActivity", "0.0",
                            List.of(IngestClient.userActivity("0.0", id, k))) == 200) {
                        sentNanos = System.nanoTime();
                        sentAt = LocalTime.now();
                        sent.add(id);
                    }
                } catch (Exception nodeDown) {
                    // try the next node
                }
            }
            if (sentNanos < 0) {
                continue;
            }
            TableCounts.await(id, SETTLE, () -> tables.rowsWithEventId(TABLE, id) == 1, () -> "");
            markers.add(new Marker(id, sentAt, (System.nanoTime() - sentNanos) / 1_000_000));
            try {
                Thread.sleep(1_000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * The rolling restart as the node logs tell it: every step of every move of the table sync, and
     * per move the ms from its handoff to each later step with the largest marker wait around it.
     */
    private static String report(ClusterProcesses cluster, LocalTime from, LocalTime until, List<Marker> markers,
                                 List<String> phases) throws IOException {
        List<Event> events = new ArrayList<>();
        for (int node = 1; node <= NODES; node++) {
            for (String line : Files.readAllLines(cluster.logOf(node))) {
                LocalTime at = timeOf(line);
                if (at == null || at.isBefore(from) || at.isAfter(until)) {
                    continue;
                }
                for (Map.Entry<String, Pattern> step : STEPS.entrySet()) {
                    if (step.getValue().matcher(line).find()) {
                        events.add(new Event(at, node, step.getKey(), line));
                    }
                }
            }
        }
        events.sort(Comparator.comparing(Event::at));
        StringBuilder out = new StringBuilder("phases: ").append(phases).append('\n');
        out.append("markers waiting over 1 s: ");
        markers.stream().filter(m -> m.waitedMs() > 1_000).forEach(m -> out.append(m.sentAt()).append('=').append(m.waitedMs()).append("ms "));
        out.append('\n');
        // One move per handoff-begun: the steps after it until the next handoff begins.
        List<Integer> starts = new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).step().equals("handoff-begun")) {
                starts.add(i);
            }
        }
        for (int m = 0; m < starts.size(); m++) {
            Event begun = events.get(starts.get(m));
            int end = m + 1 < starts.size() ? starts.get(m + 1) : events.size();
            Map<String, String> steps = new LinkedHashMap<>();
            // What set it off: the leaving node's shutdown or a rebalance, up to a minute before.
            for (int i = starts.get(m) - 1; i >= 0 && (m == 0 || i > starts.get(m - 1)); i--) {
                Event e = events.get(i);
                if ((e.step().equals("leave-started") && e.node() == begun.node()) || e.step().equals("rebalance-started")
                        || e.step().equals("shutting-down-shards")) {
                    steps.putIfAbsent(e.step(), Long.toString(Duration.between(begun.at(), e.at()).toMillis()));
                }
            }
            int to = -1;
            LocalTime done = begun.at();
            for (int i = starts.get(m); i < end; i++) {
                Event e = events.get(i);
                if (e.step().equals("leave-started") || e.step().equals("rebalance-started")
                        || e.step().equals("shutting-down-shards")) {
                    continue;
                }
                if (e.step().equals("entity-started")) {
                    to = e.node();
                }
                if (!steps.containsKey(e.step())) {
                    steps.put(e.step(), Long.toString(Duration.between(begun.at(), e.at()).toMillis()));
                    done = e.at();
                }
            }
            LocalTime windowStart = begun.at().minusSeconds(3);
            LocalTime windowEnd = done;
            long worst = markers.stream()
                    .filter(k -> !k.sentAt().isBefore(windowStart) && !k.sentAt().isAfter(windowEnd))
                    .mapToLong(Marker::waitedMs).max().orElse(-1);
            out.append(String.format("move %d at %s: node %d -> node %s, ms after handoff begun: %s; largest marker wait %d ms%n",
                    m + 1, begun.at(), begun.node(), to < 0 ? "?" : Integer.toString(to), steps, worst));
        }
        out.append("events:\n");
        for (Event e : events) {
            out.append("  ").append(e.at()).append(" node ").append(e.node()).append(' ').append(e.step()).append('\n');
        }
        return out.toString();
    }

    private static LocalTime timeOf(String line) {
        if (line.length() < 12) {
            return null;
        }
        try {
            return LocalTime.parse(line.substring(0, 12));
        } catch (DateTimeParseException notALogLine) {
            return null;
        }
    }

    private static String loadAverage() {
        return String.format("%.1f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private static void expectExactly(TableCounts tables, ClickHouse clickhouse, Set<String> accepted, Set<String> unknown)
            throws Exception {
        TableCounts.await(TABLE + " complete", SETTLE, () -> ids(clickhouse).containsAll(accepted),
                () -> "missing " + accepted.stream().filter(id -> !ids(clickhouse).contains(id)).limit(5).toList());
        Set<String> found = ids(clickhouse);
        found.removeAll(accepted);
        assertTrue(unknown.containsAll(found), () -> TABLE + " has records nobody sent: " + found.stream().limit(5).toList());
        assertEquals(0, tables.duplicateEvents(TABLE), TABLE + " has an event twice");
        assertEquals(0, tables.duplicateCoordinates(TABLE), TABLE + " has a source coordinate twice");
    }

    private static Set<String> ids(ClickHouse clickhouse) {
        try {
            Set<String> ids = new HashSet<>();
            clickhouse.query("SELECT eventId FROM " + clickhouse.qualified(TABLE)).toCompletableFuture().get()
                    .forEach(r -> ids.add(r.get(0)));
            return ids;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
