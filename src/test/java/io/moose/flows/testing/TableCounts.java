package io.moose.flows.testing;

import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.TableSchema;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Counts what landed in a table, the way the exactly-once assertions need it. */
public final class TableCounts {

    private final ClickHouse clickhouse;

    public TableCounts(ClickHouse clickhouse) {
        this.clickhouse = clickhouse;
    }

    /** A client of the harness's ClickHouse for one database, with the node's default settings. */
    public static ClickHouse connect(String database) {
        return ClickHouse.connect(io.moose.flows.clickhouse.ClickHouseSettings.from(io.moose.flows.node.NodeConfig.load())
                .withUrl(Infra.get().clickhouseUrl()).withDatabase(database));
    }

    public long rows(String table) {
        return single("SELECT count() FROM " + clickhouse.qualified(table));
    }

    /** Rows beyond the first for any source coordinate: must always be 0. */
    public long duplicateCoordinates(String table) {
        return single("SELECT count() - uniqExact(" + TableSchema.SOURCE_TOPIC + ", " + TableSchema.SOURCE_PARTITION + ", "
                + TableSchema.SOURCE_OFFSET + ") FROM " + clickhouse.qualified(table));
    }

    /** Rows beyond the first for any eventId: every test record has a unique one. */
    public long duplicateEvents(String table) {
        return single("SELECT count() - uniqExact(eventId) FROM " + clickhouse.qualified(table));
    }

    public long rowsWithEventPrefix(String table, String prefix) {
        return single("SELECT count() FROM " + clickhouse.qualified(table) + " WHERE startsWith(eventId, "
                + ClickHouse.literal(prefix) + ")");
    }

    public long rowsWithEventId(String table, String eventId) {
        return single("SELECT count() FROM " + clickhouse.qualified(table) + " WHERE eventId = " + ClickHouse.literal(eventId));
    }

    private long single(String sql) {
        try {
            return Long.parseLong(clickhouse.query(sql).toCompletableFuture().get().get(0).get(0));
        } catch (Exception e) {
            throw new IllegalStateException(sql, e);
        }
    }

    /** Polls until the condition holds; fails with the last observed state. */
    public static void await(String what, Duration timeout, BooleanSupplier condition, Supplier<String> state) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout + " waiting for " + what + "; state: " + state.get());
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting for " + what);
            }
        }
    }
}
