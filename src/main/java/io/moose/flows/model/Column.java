package io.moose.flows.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Optional;

/** One column of a data model version. {@code defaultValue} fills the column when a migration adds it. */
public record Column(String name, ColumnType type, boolean nullable, Optional<JsonNode> defaultValue) {

    /** The ClickHouse type of the column, e.g. {@code Nullable(Int64)}. */
    public String clickhouseType() {
        return nullable ? "Nullable(" + type.clickhouseType() + ")" : type.clickhouseType();
    }
}
