package io.moose.flows.clickhouse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.model.Column;
import io.moose.flows.model.ModelVersion;

/**
 * Turns a row ClickHouse printed as JSONEachRow back into a record of the model version, the
 * inverse of what the table sink writes: ClickHouse quotes 64-bit integers (18.16 always) and stores
 * booleans as UInt8, while the model wants plain numbers and true/false.
 */
public final class RowDecoder {

    private RowDecoder() {
    }

    /** Returns a new object holding only the model's columns, converted; source coordinates are dropped. */
    public static ObjectNode toRecord(ObjectNode row, ModelVersion version) {
        ObjectNode record = row.objectNode();
        for (Column column : version.columns()) {
            JsonNode value = row.get(column.name());
            if (value == null || value.isNull()) {
                record.set(column.name(), record.nullNode());
                continue;
            }
            record.set(column.name(), switch (column.type()) {
                case INT64 -> value.isTextual() ? LongNode.valueOf(Long.parseLong(value.asText())) : value;
                case BOOLEAN -> BooleanNode.valueOf(value.asInt() != 0);
                default -> value;
            });
        }
        return record;
    }
}
