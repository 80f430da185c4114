package io.moose.flows.sync;

import io.moose.flows.clickhouse.ClickHouse;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * Which run of a table sink may insert. Each run registers in a small table beside the data with
 * an epoch above every earlier run's, before it reads the high-water mark, and checks before every
 * INSERT that it is still the newest run of its (table, topic). A run that is not (another node
 * took the sink over, e.g. while this one was paused and downed) fails instead of inserting rows
 * the newer run may already have inserted; found by ops/chaos with a SIGSTOPped node.
 *
 * <p>The check used to re-read the table's high-water marks before every INSERT instead: a scan of
 * the whole table's coordinate columns (114 ms at 6M rows on the bench machine, and growing with
 * the table), where this reads a few rows by primary key. Both leave the same narrow window: an
 * INSERT already past its check when the newer run registers may land after the newer run read
 * its high-water mark.
 */
final class SinkFence {

    static final String TABLE = "moose_sink_runs";

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

    /** Registers a new run of the sink of {@code topic} into {@code table} as the newest. */
    static CompletionStage<SinkFence> register(ClickHouse clickhouse, String table, String topic) {
        String runs = clickhouse.qualified(TABLE);
        String run = UUID.randomUUID().toString();
        return clickhouse.execute("CREATE TABLE IF NOT EXISTS " + runs
                        + " (sink_table String, source_topic String, epoch UInt64, run String, registered DateTime)"
                        + " ENGINE = MergeTree() ORDER BY (sink_table, source_topic, epoch)")
                // max() over no rows is 0 on every ClickHouse version: the first run gets epoch 1.
                .thenCompose(created -> clickhouse.query("SELECT max(epoch) FROM " + runs + where(table, topic)))
                .thenCompose(rows -> {
                    long epoch = Long.parseLong(rows.get(0).get(0)) + 1;
                    return clickhouse.execute("INSERT INTO " + runs + " (sink_table, source_topic, epoch, run, registered) VALUES ("
                                    + ClickHouse.literal(table) + ", " + ClickHouse.literal(topic) + ", " + epoch + ", "
                                    + ClickHouse.literal(run) + ", now())")
                            .thenApply(inserted -> new SinkFence(clickhouse, table, topic, run, epoch));
                });
    }

    /** Completes when this run is still the newest; fails when a newer one registered since. */
    CompletionStage<Void> check() {
        // Two runs registering at once can draw the same epoch: the run id breaks the tie, the same way for both.
        return clickhouse.query("SELECT run, epoch FROM " + clickhouse.qualified(TABLE) + where(table, topic)
                        + " ORDER BY epoch DESC, run DESC LIMIT 1")
                .thenAccept(rows -> {
                    List<String> newest = rows.isEmpty() ? List.of(run, Long.toString(epoch)) : rows.get(0);
                    if (!newest.get(0).equals(run)) {
                        throw new IllegalStateException("another sink of " + topic + " into " + table + " took over (its run "
                                + newest.get(0) + " has epoch " + newest.get(1) + ", this run " + epoch + "): restarting from the"
                                + " table's high-water mark");
                    }
                });
    }

    long epoch() {
        return epoch;
    }

    private static String where(String table, String topic) {
        return " WHERE sink_table = " + ClickHouse.literal(table) + " AND source_topic = " + ClickHouse.literal(topic);
    }
}
