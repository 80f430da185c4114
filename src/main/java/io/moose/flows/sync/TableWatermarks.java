package io.moose.flows.sync;

import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.TableSchema;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * The table's own record of what it holds: per partition of a source topic, the highest offset
 * stored. A table sink resumes above it; a migration asks it whether the source table sync has
 * passed the cut.
 */
public final class TableWatermarks {

    private TableWatermarks() {
    }

    /** Partition to the highest {@code _src_offset} in {@code table} for rows from {@code topic}; partitions with no rows are absent. */
    public static CompletionStage<Map<Integer, Long>> highestOffsets(ClickHouse clickhouse, String table, String topic) {
        String sql = "SELECT " + TableSchema.SOURCE_PARTITION + ", max(" + TableSchema.SOURCE_OFFSET + ")"
                + " FROM " + clickhouse.qualified(table)
                + " WHERE " + TableSchema.SOURCE_TOPIC + " = " + ClickHouse.literal(topic)
                + " GROUP BY " + TableSchema.SOURCE_PARTITION;
        return clickhouse.query(sql).thenApply(TableWatermarks::parse);
    }

    static Map<Integer, Long> parse(List<List<String>> rows) {
        Map<Integer, Long> highest = new HashMap<>();
        for (List<String> row : rows) {
            highest.put(Integer.parseInt(row.get(0)), Long.parseLong(row.get(1)));
        }
        return highest;
    }
}
