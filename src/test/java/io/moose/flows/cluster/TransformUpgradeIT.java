package io.moose.flows.cluster;

import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.testing.ClusterProcesses;
import io.moose.flows.testing.IngestClient;
import io.moose.flows.testing.SteadyLoad;
import io.moose.flows.testing.TableCounts;
import io.moose.flows.testing.TransformJars;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 13, item 4 (README "Write your own transform", step 7): a new version of a transform jar
 * on a two-node cluster under steady ingest. Version 1 of the jar runs; version 2 replaces it in the
 * nodes' transforms folder; the nodes restart one at a time. The flow runs version 2 after its
 * handoff, and every accepted record is in the target table exactly once, tagged by the version that
 * transformed it: records ingested after the roll all by version 2.
 */
class TransformUpgradeIT {

    private static final int NODES = 2;
    private static final String CLASS = "com.example.Tagging";
    private static final String TABLE = "ParsedActivity_0_0";
    private static final Duration WAIT = Duration.ofMinutes(4);
    private static final String DEFINITION = """
            models = [
              { name = UserActivity, versions = [{ version = "0.0", columns = [
                  { name = eventId, type = String }
                  { name = timestamp, type = DateTime }
                  { name = userId, type = String }
                  { name = activity, type = String }
              ], order-by = [timestamp, eventId] }] }
              { name = ParsedActivity, versions = [{ version = "0.0", columns = [
                  { name = eventId, type = String }
                  { name = timestamp, type = DateTime }
                  { name = userId, type = String }
                  { name = action, type = String }
                  { name = target, type = String }
              ], order-by = [timestamp, eventId] }] }
            ]
            flows = [
              { source = "UserActivity/0.0", target = "ParsedActivity/0.0", transform = "%s" }
            ]
            """.formatted(CLASS);

    /** Version {@code version} of the user's transform: the action column says which version ran. */
    private static Path jar(Path folder, String version) {
        return TransformJars.build(Map.of(CLASS, """
                package com.example;
                import com.fasterxml.jackson.databind.node.ObjectNode;
                import java.util.List;
                public final class Tagging implements io.moose.flows.api.Transform {
                    public List<ObjectNode> apply(ObjectNode in) {
                        ObjectNode out = in.objectNode();
                        out.set("eventId", in.get("eventId"));
                        out.set("timestamp", in.get("timestamp"));
                        out.set("userId", in.get("userId"));
                        out.put("action", "%s");
                        out.put("target", in.path("activity").asText());
                        return List.of(out);
                    }
                }
                """.formatted(version)), folder.resolve("tagging.jar"));
    }

    @Test
    void aNewJarRolledOutNodeByNodeRunsAfterTheHandoffAndNoRecordIsLostOrDoubled() throws Exception {
        Path folder = Files.createTempDirectory("moose-transforms-");
        jar(folder, "v1");
        String options = "-Dmoose-flows.transforms.path=" + folder + " -Dmoose-flows.transforms.retry-interval=1s";
        try (ClusterProcesses cluster = ClusterProcesses.create(DEFINITION, 0, options);
             ClickHouse clickhouse = TableCounts.connect(cluster.namespace)) {
            cluster.up(NODES);
            TableCounts tables = new TableCounts(clickhouse);
            List<String> ingest = List.of(cluster.ingestUrl(1), cluster.ingestUrl(2));
            Set<String> accepted = new HashSet<>();
            Set<String> unknown = new HashSet<>();
            try (SteadyLoad load = new SteadyLoad(ingest, "0.0", "live", 20, 100)) {
                TableCounts.await("rows transformed by v1", WAIT, () -> byVersion(clickhouse).getOrDefault("v1", 0L) > 200,
                        () -> byVersion(clickhouse).toString());

                jar(folder, "v2");
                for (int node = 1; node <= NODES; node++) {
                    cluster.stop(node);
                    cluster.start(node);
                    cluster.awaitOneCluster(NODES, WAIT);
                }
                TableCounts.await("rows transformed by v2", WAIT, () -> byVersion(clickhouse).getOrDefault("v2", 0L) > 200,
                        () -> byVersion(clickhouse).toString());
                load.close();
                assertTrue(load.failure().isEmpty(), load.failure().orElse(""));
                accepted.addAll(load.accepted);
                unknown.addAll(load.unknown);
            }
            // After the roll every node has only v2: whatever is ingested now is transformed by it.
            new IngestClient(cluster.ingestUrl(1)).ingestUserActivity("0.0", "after", 500, 100);

            TableCounts.await("every accepted record in " + TABLE, WAIT,
                    () -> tables.rowsWithEventPrefix(TABLE, "after-") == 500 && tables.rowsWithEventPrefix(TABLE, "live-") >= accepted.size(),
                    () -> tables.rowsWithEventPrefix(TABLE, "live-") + " live of " + accepted.size() + ", "
                            + tables.rowsWithEventPrefix(TABLE, "after-") + " after; " + byVersion(clickhouse));
            Thread.sleep(4_000); // longer than a sink's linger: a late duplicate would show now
            assertEquals(0, tables.duplicateEvents(TABLE));
            assertEquals(0, tables.duplicateCoordinates(TABLE));
            long live = tables.rowsWithEventPrefix(TABLE, "live-");
            assertTrue(live >= accepted.size() && live <= accepted.size() + unknown.size(),
                    live + " live rows for " + accepted.size() + " accepted and " + unknown.size() + " unknown");
            for (String id : accepted) {
                if (tables.rowsWithEventId(TABLE, id) != 1) {
                    throw new AssertionError(id + " is in " + TABLE + " " + tables.rowsWithEventId(TABLE, id) + " times");
                }
            }
            assertEquals(500, single(clickhouse, "SELECT count() FROM " + clickhouse.qualified(TABLE)
                    + " WHERE startsWith(eventId, 'after-') AND action = 'v2'"));
            Map<String, Long> versions = byVersion(clickhouse);
            assertTrue(versions.getOrDefault("v1", 0L) > 0 && versions.getOrDefault("v2", 0L) > 0, versions.toString());
            assertEquals(Set.of("v1", "v2"), versions.keySet());
        }
    }

    private static Map<String, Long> byVersion(ClickHouse clickhouse) {
        try {
            Map<String, Long> counts = new java.util.TreeMap<>();
            for (List<String> row : clickhouse.query("SELECT action, count() FROM " + clickhouse.qualified(TABLE)
                    + " GROUP BY action").toCompletableFuture().get()) {
                counts.put(row.get(0), Long.parseLong(row.get(1)));
            }
            return counts;
        } catch (Exception e) {
            return Map.of("error", -1L);
        }
    }

    private static long single(ClickHouse clickhouse, String sql) throws Exception {
        return Long.parseLong(clickhouse.query(sql).toCompletableFuture().get().get(0).get(0));
    }
}
