package io.moose.flows.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.node.GoneMemberDowning;
import io.moose.flows.testing.ClusterProcesses;
import io.moose.flows.testing.CpuBurners;
import io.moose.flows.testing.TestNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 11, failover time: the node running the most flows and table syncs of a three-node cluster
 * is SIGKILLed {@code -Dmoose.test.failover-kills} times (default 2 in the suite, to keep its time; 5 or more to measure), and each time every entity it
 * ran must run again on another node within {@link #FAILOVER_BOUND} (the time from the kill is
 * printed, with p50 and max). Then CPU burners starve the machine for {@link #STARVATION} and no
 * node may be downed: the same three members (same incarnations) stay Up and no split brain
 * resolver decides anything.
 */
class SigkillFailoverIT {

    private static final int NODES = 3;
    private static final int KILLS = Integer.getInteger("moose.test.failover-kills", 2);
    private static final int BURNERS = Integer.getInteger("moose.test.burners", 4);
    /**
     * The target is 10 s ({@code -Dmoose.test.failover-bound-seconds=10}); the suite allows 20 s: on a
     * shared two-core machine at load 30-40 single kills measured up to 17 s (ClusterFailoverIT measured
     * 22 s there before issue 11's tuning).
     */
    private static final Duration FAILOVER_BOUND = Duration.ofSeconds(Long.getLong("moose.test.failover-bound-seconds", 20));
    /**
     * 30 s in the suite (five times the resolver's stable-after of 6 s, to keep the suite under 25
     * minutes); {@code -Dmoose.test.starvation-seconds=60} or more to measure.
     */
    private static final Duration STARVATION = Duration.ofSeconds(Long.getLong("moose.test.starvation-seconds", 30));
    private static final Duration SETTLE = Duration.ofSeconds(120);
    private static final int FORMATIONS = 3;
    private static final String SBR_DECISION = "SBR took decision";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Failover steps and the log line (of a survivor) that marks each, in the order they happen. */
    private static final Map<String, String> TIMELINE = new LinkedHashMap<>();

    static {
        TIMELINE.put("unreachable", "as UNREACHABLE");
        TIMELINE.put("downed", SBR_DECISION);
        TIMELINE.put("downed-gone", GoneMemberDowning.DOWNED_LOG);
        TIMELINE.put("removed", "removing unreachable node");
        TIMELINE.put("coordinator-moved", "ShardCoordinator was moved to the active state");
        TIMELINE.put("hop-runs-started", "run started, earlier runs fenced");
        TIMELINE.put("sink-runs-started", ": resuming ");
    }
    /**
     * Admin asks of an entity that is gone time out after this, which bounds how coarse a measurement is;
     * {@code -Dmoose.test.failover-node-options} adds options to every node (e.g. debug logging to see
     * where a failover's seconds went).
     */
    private static final String OPTIONS = "-Dmoose-flows.admin.ask-timeout=1s "
            + System.getProperty("moose.test.failover-node-options", "");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @Test
    void entitiesOfAKilledNodeRunElsewhereWithinSecondsAndCpuStarvationDownsNoNode() throws Exception {
        try (ClusterProcesses cluster = ClusterProcesses.create(TestNode.projectFile(), 100, OPTIONS)) {
            // Three JVMs starting at once on a busy two-core machine took longer than ops/cluster's 120 s.
            cluster.readyTimeout(Duration.ofMinutes(5));
            formCluster(cluster);
            List<Long> failovers = new ArrayList<>();
            for (int kill = 1; kill <= KILLS; kill++) {
                Map<String, Integer> placement = awaitAllRunning(cluster);
                int victim = mostLoaded(placement);
                Set<String> moved = new TreeSet<>();
                placement.forEach((id, node) -> {
                    if (node == victim) {
                        moved.add(id);
                    }
                });
                long scriptStarted = System.nanoTime();
                cluster.kill(victim);
                long killed = System.nanoTime();
                LocalTime killedAt = LocalTime.now();
                awaitRunningElsewhere(cluster, victim, moved, false);
                long ms = (System.nanoTime() - killed) / 1_000_000;
                failovers.add(ms);
                // Not asserted, for the report: when every hop of those entities consumes (a hop's run has
                // fenced the earlier ones and assigned its partitions, a sink's has registered its ingress).
                awaitRunningElsewhere(cluster, victim, moved, true);
                long consumingMs = (System.nanoTime() - killed) / 1_000_000;
                System.out.printf("failover %d/%d: SIGKILL node %d -> its %d entities running elsewhere in %d ms, all their"
                                + " hops consuming in %d ms (times from the end of ops/cluster kill, which took %d ms"
                                + " including the kill); %s%n",
                        kill, KILLS, victim, moved.size(), ms, consumingMs, (killed - scriptStarted) / 1_000_000,
                        timeline(cluster, victim, killedAt, consumingMs));
                cluster.start(victim);
            }
            List<Long> sorted = failovers.stream().sorted().toList();
            System.out.printf("failover over %d kills: p50 %d ms, max %d ms, all %s%n",
                    sorted.size(), sorted.get((sorted.size() - 1) / 2), sorted.get(sorted.size() - 1), failovers);
            // Starvation first, so one run measures both.
            cpuStarvationDownsNoNode(cluster);
            assertTrue(sorted.get(sorted.size() - 1) <= FAILOVER_BOUND.toMillis(),
                    "slowest failover " + sorted.get(sorted.size() - 1) + " ms > " + FAILOVER_BOUND.toMillis() + " ms: " + failovers);
        }
    }

    /**
     * Two nodes form the cluster, then the third joins, and a formation that fails is tried again from
     * scratch (at most {@link #FORMATIONS} times). At load 40-80 (other engineers' suites on two cores)
     * starting JVMs starved each other's heartbeats for 3-6 s and the split brain resolver downed one
     * side of a 1-1 split before the cluster had formed, in four runs of four; how the cluster forms is
     * not what this test measures, and the starvation part below still requires a formed cluster to
     * down nobody.
     */
    private static void formCluster(ClusterProcesses cluster) {
        for (int attempt = 1; ; attempt++) {
            try {
                cluster.up(NODES - 1);
                cluster.start(NODES);
                return;
            } catch (IllegalStateException failed) {
                if (attempt == FORMATIONS) {
                    throw failed;
                }
                System.out.printf("cluster formation %d/%d failed, stopping the nodes and trying again: %s%n",
                        attempt, FORMATIONS, failed.getMessage().lines().reduce((a, b) -> b).orElse(""));
                cluster.close();
            }
        }
    }

    private void cpuStarvationDownsNoNode(ClusterProcesses cluster) throws Exception {
        awaitAllRunning(cluster);
        Set<String> before = cluster.awaitOneCluster(NODES, SETTLE);
        long decisionsBefore = sbrDecisions(cluster);
        int sawUnreachable = 0;
        try (CpuBurners burners = CpuBurners.start(BURNERS, STARVATION.plusSeconds(15))) {
            long end = System.nanoTime() + STARVATION.toNanos();
            while (System.nanoTime() < end) {
                for (int node = 1; node <= NODES; node++) {
                    JsonNode members = get(cluster, node, "/cluster/members");
                    if (members != null && !members.path("unreachable").isEmpty()) {
                        sawUnreachable++;
                    }
                }
                Thread.sleep(1_000);
            }
        }
        Set<String> after = cluster.awaitOneCluster(NODES, SETTLE);
        System.out.printf("CPU starvation: %d burners for %d s, unreachable seen in %d member polls, SBR decisions %d%n",
                BURNERS, STARVATION.toSeconds(), sawUnreachable, sbrDecisions(cluster) - decisionsBefore);
        assertEquals(before, after, "the members (address and incarnation) after starvation");
        assertEquals(decisionsBefore, sbrDecisions(cluster), "split brain resolver decisions during starvation");
    }

    /** Where every flow and table sync runs (id -> node), once every one of them runs. */
    private Map<String, Integer> awaitAllRunning(ClusterProcesses cluster) throws InterruptedException {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            for (int node = 1; node <= NODES; node++) {
                JsonNode flows = get(cluster, node, "/flows");
                last = flows == null ? last : flows;
                Map<String, Integer> placement = placement(cluster, flows);
                if (placement != null) {
                    return placement;
                }
            }
            Thread.sleep(250);
        }
        throw new AssertionError("not every entity running within " + SETTLE + ": " + last);
    }

    /**
     * Polls a surviving node until every entity in {@code moved} runs on another node than the victim
     * and, with {@code hopsToo}, every hop of each reports running (consuming) as well.
     */
    private void awaitRunningElsewhere(ClusterProcesses cluster, int victim, Set<String> moved, boolean hopsToo)
            throws InterruptedException {
        int survivor = victim % NODES + 1;
        long deadline = System.nanoTime() + SETTLE.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            JsonNode flows = get(cluster, survivor, "/flows");
            last = flows == null ? last : flows;
            if (flows != null) {
                boolean all = true;
                for (JsonNode entity : flows.path("flows")) {
                    if (moved.contains(entity.path("id").asText())) {
                        int node = cluster.nodeOf(entity.path("node").asText());
                        all &= entity.path("state").asText().equals("running") && node > 0 && node != victim;
                        if (hopsToo) {
                            all &= !entity.path("hops").isEmpty();
                            for (JsonNode hop : entity.path("hops")) {
                                all &= hop.path("state").asText().equals("running");
                            }
                        }
                    }
                }
                if (all) {
                    return;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("entities " + moved + " of node " + victim + " not running elsewhere within " + SETTLE + ": " + last);
    }

    /** id -> node of every entity when each is running, else null. */
    private static Map<String, Integer> placement(ClusterProcesses cluster, JsonNode flows) {
        if (flows == null || flows.path("flows").isEmpty()) {
            return null;
        }
        Map<String, Integer> placement = new HashMap<>();
        for (JsonNode entity : flows.path("flows")) {
            int node = cluster.nodeOf(entity.path("node").asText());
            if (!entity.path("state").asText().equals("running") || node <= 0) {
                return null;
            }
            placement.put(entity.path("id").asText(), node);
        }
        return placement;
    }

    private static int mostLoaded(Map<String, Integer> placement) {
        Map<Integer, Integer> count = new HashMap<>();
        placement.values().forEach(node -> count.merge(node, 1, Integer::sum));
        return count.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    }

    /**
     * Where the seconds of one failover went: for each step, ms from the kill to its first log line
     * on a survivor (and for runs, the last one within the failover), e.g. {@code unreachable=3100}.
     */
    private static String timeline(ClusterProcesses cluster, int victim, LocalTime killedAt, long failoverMs) throws IOException {
        LocalTime until = killedAt.plusNanos((failoverMs + 2_000) * 1_000_000);
        Map<String, long[]> seen = new LinkedHashMap<>();
        TIMELINE.keySet().forEach(step -> seen.put(step, new long[]{Long.MAX_VALUE, -1}));
        for (int node = 1; node <= NODES; node++) {
            if (node == victim) {
                continue;
            }
            for (String line : Files.readAllLines(cluster.logOf(node))) {
                if (line.length() < 12) {
                    continue;
                }
                LocalTime at;
                try {
                    at = LocalTime.parse(line.substring(0, 12));
                } catch (DateTimeParseException notALogLine) {
                    continue;
                }
                if (at.isBefore(killedAt) || at.isAfter(until)) {
                    continue;
                }
                long ms = Duration.between(killedAt, at).toMillis();
                TIMELINE.forEach((step, marker) -> {
                    if (line.contains(marker)) {
                        long[] firstLast = seen.get(step);
                        firstLast[0] = Math.min(firstLast[0], ms);
                        firstLast[1] = Math.max(firstLast[1], ms);
                    }
                });
            }
        }
        StringBuilder out = new StringBuilder("timeline ms after the kill:");
        seen.forEach((step, firstLast) -> {
            if (firstLast[1] < 0) {
                out.append(' ').append(step).append("=-");
            } else if (step.endsWith("started")) {
                out.append(' ').append(step).append('=').append(firstLast[0]).append("..").append(firstLast[1]);
            } else {
                out.append(' ').append(step).append('=').append(firstLast[0]);
            }
        });
        return out.toString();
    }

    private static long sbrDecisions(ClusterProcesses cluster) throws IOException {
        long n = 0;
        for (int node = 1; node <= NODES; node++) {
            n += Files.readAllLines(cluster.logOf(node)).stream().filter(line -> line.contains(SBR_DECISION)).count();
        }
        return n;
    }

    private JsonNode get(ClusterProcesses cluster, int node, String path) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(cluster.adminUrl(node) + path))
                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
