package io.moose.flows.sync;

import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.hop.RunFencedException;

import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;

/**
 * Which run of a table sink may insert, enforced by ClickHouse itself. Every run inserts through an
 * <em>ingress</em> of its own: a {@code Null} table shaped like the target and a materialized view
 * from it into the target. A run starts in four steps, and only then reads the table's high-water
 * mark:
 * <ol>
 *   <li>register in the small table {@code moose_sink_runs} with an epoch above every earlier run's
 *       (ties, from two runs registering at once, are broken by the run id, the same way for all);</li>
 *   <li>create its ingress;</li>
 *   <li>drop the ingress of every older run of the same (table, topic);</li>
 *   <li>check no newer run has registered; if one has, this run is fenced before it inserted anything.</li>
 * </ol>
 * Steps 2 and 3 run side by side (each only has to come after step 1 and before step 4), and the
 * target's columns for step 2 are read while step 1 runs: every step is a ClickHouse round trip,
 * and a table sink moving to another node waits for all of them (issue 11).
 * Why that is enough, for two runs {@code old < new}: if {@code old} passes step 4, {@code new}
 * registered after that check, so {@code new}'s step 3 comes after {@code old}'s ingress exists and
 * drops it. ClickHouse's DROP waits for INSERTs in flight into the dropped table (18.16 takes the
 * table's exclusive lock; current releases are asked for {@code DROP ... SYNC}, which waits for
 * every query still using the table on an Atomic database), and every later INSERT into it fails.
 * So every row {@code old} ever stores is in the table before {@code new} reads its high-water mark,
 * however long {@code old} was frozen between any two of its lines: no same-coordinate duplicate.
 *
 * <p>The fence used before was "check I am the newest run, then INSERT": an INSERT that had passed
 * its check could land after a newer run read the high-water mark (ops/chaos and a busy CI run stored
 * hundreds of rows twice that way). {@code TableSinkFenceIT} holds a run between its check and its
 * INSERT to prove the difference.
 */
final class SinkFence {

    static final String TABLE = "moose_sink_runs";
    /** Every run's ingress table is this prefix plus the run id; its view adds {@link #VIEW_SUFFIX}. */
    static final String INGRESS_PREFIX = "moose_ingress_";
    static final String VIEW_SUFFIX = "_mv";

    private final ClickHouse clickhouse;
    private final String table;
    private final String topic;
    private final String run;
    private final long epoch;

    private SinkFence(ClickHouse clickhouse, String table, String topic, String run, long epoch) {
        this.clickhouse = clickhouse;
        this.table = table;
        this.topic = topic;
        this.run = run;
        this.epoch = epoch;
    }

    /**
     * Registers a new run of the sink of {@code topic} into {@code table}, gives it its ingress and
     * drops every older run's. Fails with {@link RunFencedException} when a newer run registered meanwhile.
     */
    static CompletionStage<SinkFence> register(ClickHouse clickhouse, String table, String topic) {
        String runs = clickhouse.qualified(TABLE);
        String run = UUID.randomUUID().toString().replace("-", "");
        // The target's columns (for the ingress) are read while the run registers: a run's start is a
        // chain of ClickHouse round trips, each of them slow on a busy machine (issue 11).
        CompletionStage<List<List<String>>> described = clickhouse.query("DESCRIBE TABLE " + clickhouse.qualified(table));
        return runsTable(clickhouse)
                // max() over no rows is 0 on every ClickHouse version: the first run gets epoch 1.
                .thenCompose(created -> clickhouse.query("SELECT max(epoch) FROM " + runs + where(table, topic)))
                .thenCompose(rows -> {
                    long epoch = Long.parseLong(rows.get(0).get(0)) + 1;
                    SinkFence fence = new SinkFence(clickhouse, table, topic, run, epoch);
                    return clickhouse.execute("INSERT INTO " + runs + " (sink_table, source_topic, epoch, run, registered) VALUES ("
                                    + ClickHouse.literal(table) + ", " + ClickHouse.literal(topic) + ", " + epoch + ", "
                                    + ClickHouse.literal(run) + ", now())")
                            // Steps 2 and 3 side by side: the argument above needs each of them done
                            // after step 1 and before step 4, not one before the other.
                            .thenCompose(registered -> described.thenCompose(fence::createIngress)
                                    .thenCombine(fence.dropOlderIngresses(), (created, dropped) -> (Void) null))
                            // Step 4 also when step 2 or 3 failed: a newer run dropping this run's ingress
                            // while it was being made (its view then finds no table) means this run is
                            // fenced, and says so, rather than failing with ClickHouse's "doesn't exist".
                            .handle((ready, failed) -> failed)
                            .thenCompose(failed -> fence.failIfNewerRunRegistered().thenApply(checked -> {
                                if (failed != null) {
                                    throw failed instanceof CompletionException c ? c : new CompletionException(failed);
                                }
                                return fence;
                            }));
                })
                .whenComplete((fence, error) -> {
                    if (error != null) {
                        // Maybe the runs table is gone (a database dropped and made again): create it next time.
                        RUNS_TABLES.remove(clickhouse);
                    }
                });
    }

    /** Databases (by their client) whose runs table this JVM has created or found: it is created once, not per run. */
    private static final java.util.Map<ClickHouse, CompletionStage<Void>> RUNS_TABLES =
            java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    private static CompletionStage<Void> runsTable(ClickHouse clickhouse) {
        CompletionStage<Void> known = RUNS_TABLES.get(clickhouse);
        if (known != null && known.toCompletableFuture().isDone() && !known.toCompletableFuture().isCompletedExceptionally()) {
            return known;
        }
        CompletionStage<Void> created = clickhouse.execute("CREATE TABLE IF NOT EXISTS " + clickhouse.qualified(TABLE)
                + " (sink_table String, source_topic String, epoch UInt64, run String, registered DateTime)"
                + " ENGINE = MergeTree() ORDER BY (sink_table, source_topic, epoch)");
        RUNS_TABLES.put(clickhouse, created);
        return created;
    }

    /** The table this run inserts into: its own ingress, which a newer run drops. */
    String ingressTable() {
        return INGRESS_PREFIX + run;
    }

    long epoch() {
        return epoch;
    }

    /**
     * After an INSERT through the ingress failed: whether it failed because a newer run dropped the
     * ingress (this run is fenced for good) rather than for a reason a retry may cure.
     */
    CompletionStage<Boolean> ingressDropped() {
        return clickhouse.query("EXISTS TABLE " + clickhouse.qualified(ingressTable()))
                .thenApply(rows -> rows.isEmpty() || "0".equals(rows.get(0).get(0)));
    }

    /** This run's ingress, when it ends for good (fenced or stopped); a newer run would drop it anyway. */
    CompletionStage<Void> dropOwnIngress() {
        return drop(run);
    }

    /**
     * The ingress has the target's columns, except that a Float64 column takes the 64 bits of the
     * double (UInt64, see {@link TabSeparatedText#writeFloat64Bits}) and its view turns them back into
     * that double. ClickHouse's own text parsing of floats is not correctly rounded (18.16 stored
     * 8.61448900242836E-100 one bit off, -0.0 as 0 and 4.9E-324 as 0:
     * WhatIngestAcceptsIsStoredByteForByteIT), so the exact value travels as an integer instead.
     */
    private CompletionStage<Void> createIngress(List<List<String>> described) {
        String ingress = clickhouse.qualified(ingressTable());
        String view = clickhouse.qualified(ingressTable() + VIEW_SUFFIX);
        List<String> definitions = new java.util.ArrayList<>();
        List<String> selected = new java.util.ArrayList<>();
        for (List<String> column : described) {
            String defaultKind = column.size() > 2 ? column.get(2) : "";
            if (defaultKind.equals("MATERIALIZED") || defaultKind.equals("ALIAS")) {
                continue; // computed by the target, never inserted
            }
            String name = ClickHouse.quote(column.get(0));
            String type = column.get(1);
            boolean float64 = type.equals("Float64") || type.equals("Nullable(Float64)");
            definitions.add(name + " " + (float64 ? type.replace("Float64", "UInt64") : type));
            selected.add(float64 ? "reinterpretAsFloat64(reinterpretAsString(" + name + ")) AS " + name : name);
        }
        return clickhouse.execute("CREATE TABLE IF NOT EXISTS " + ingress + " (" + String.join(", ", definitions) + ") ENGINE = Null")
                .thenCompose(created -> clickhouse.execute("CREATE MATERIALIZED VIEW IF NOT EXISTS " + view
                        + " TO " + clickhouse.qualified(table) + " AS SELECT " + String.join(", ", selected) + " FROM " + ingress));
    }

    /** Drops the ingress (and its view) of every run of this sink registered below this one. */
    private CompletionStage<Void> dropOlderIngresses() {
        CompletionStage<List<List<String>>> older = clickhouse.query("SELECT run FROM " + clickhouse.qualified(TABLE)
                + where(table, topic) + " AND (epoch < " + epoch + " OR (epoch = " + epoch + " AND run < " + ClickHouse.literal(run) + "))");
        CompletionStage<List<List<String>>> existing = clickhouse.query("SELECT name FROM system.tables WHERE database = "
                + ClickHouse.literal(clickhouse.database()) + " AND startsWith(name, " + ClickHouse.literal(INGRESS_PREFIX) + ")");
        return older.thenCombine(existing, (runs, tables) -> {
            Set<String> names = tables.stream().map(r -> r.get(0)).collect(Collectors.toSet());
            return runs.stream().map(r -> r.get(0))
                    .filter(r -> names.contains(INGRESS_PREFIX + r) || names.contains(INGRESS_PREFIX + r + VIEW_SUFFIX))
                    .toList();
        }).thenCompose(stale -> {
            CompletionStage<Void> all = CompletableFuture.completedFuture(null);
            for (String r : stale) {
                all = all.thenCompose(d -> drop(r));
            }
            return all;
        });
    }

    /**
     * The ingress table first: its DROP waits for INSERTs still running into it (they hold the
     * table), then the view that led from it into the target.
     */
    private CompletionStage<Void> drop(String ofRun) {
        return clickhouse.dropTableWaiting(INGRESS_PREFIX + ofRun)
                .thenCompose(d -> clickhouse.dropTableWaiting(INGRESS_PREFIX + ofRun + VIEW_SUFFIX));
    }

    private CompletionStage<Void> failIfNewerRunRegistered() {
        return clickhouse.query("SELECT run, epoch FROM " + clickhouse.qualified(TABLE) + where(table, topic)
                        + " AND (epoch > " + epoch + " OR (epoch = " + epoch + " AND run > " + ClickHouse.literal(run) + "))"
                        + " ORDER BY epoch DESC, run DESC LIMIT 1")
                .thenCompose(newer -> {
                    if (newer.isEmpty()) {
                        return CompletableFuture.completedFuture(null);
                    }
                    RunFencedException fenced = new RunFencedException("another sink of " + topic + " into " + table
                            + " registered while this one started (its run " + newer.get(0).get(0) + " has epoch "
                            + newer.get(0).get(1) + ", this run " + epoch + ")");
                    return dropOwnIngress().handle((d, e) -> {
                        throw fenced;
                    });
                });
    }

    private static String where(String table, String topic) {
        return " WHERE sink_table = " + ClickHouse.literal(table) + " AND source_topic = " + ClickHouse.literal(topic);
    }
}
