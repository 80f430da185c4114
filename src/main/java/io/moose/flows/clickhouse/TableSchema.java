package io.moose.flows.clickhouse;

import io.moose.flows.model.Column;
import io.moose.flows.model.ModelVersion;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ClickHouse table of a model version: the model's columns plus the coordinates of the Kafka
 * record each row came from. The coordinates make every table sink exactly-once with no state
 * outside ClickHouse (design section 3): on restart a sink skips what is at or below the highest
 * offset already stored for its topic and partition.
 */
public final class TableSchema {

    public static final String SOURCE_TOPIC = "_src_topic";
    public static final String SOURCE_PARTITION = "_src_partition";
    public static final String SOURCE_OFFSET = "_src_offset";

    private TableSchema() {
    }

    /** Column name to ClickHouse type, in table order. */
    public static Map<String, String> columns(ModelVersion version) {
        Map<String, String> columns = new LinkedHashMap<>();
        for (Column column : version.columns()) {
            columns.put(column.name(), column.clickhouseType());
        }
        columns.put(SOURCE_TOPIC, "String");
        columns.put(SOURCE_PARTITION, "Int32");
        columns.put(SOURCE_OFFSET, "Int64");
        return columns;
    }

    /** CREATE TABLE IF NOT EXISTS, in syntax both ClickHouse 18.16 and current releases accept. */
    public static String createStatement(String qualifiedTable, ModelVersion version) {
        List<String> definitions = new ArrayList<>();
        columns(version).forEach((name, type) -> definitions.add(ClickHouse.quote(name) + " " + type));
        String orderBy = version.orderBy().isEmpty()
                ? "tuple()"
                : "(" + String.join(", ", version.orderBy().stream().map(ClickHouse::quote).toList()) + ")";
        return "CREATE TABLE IF NOT EXISTS " + qualifiedTable + " (" + String.join(", ", definitions) + ")"
                + " ENGINE = MergeTree() ORDER BY " + orderBy;
    }
}
