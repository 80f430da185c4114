package io.moose.flows.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Checks one JSON record against a model version's columns: types, missing and unknown fields, nulls. */
public final class RecordValidator {

    /** One thing wrong with a record; {@code field} is empty when the record as a whole is wrong. */
    public record Problem(String field, String message) {
        @Override
        public String toString() {
            return field.isEmpty() ? message : "field '" + field + "': " + message;
        }
    }

    private RecordValidator() {
    }

    public static List<Problem> validate(JsonNode record, ModelVersion version) {
        List<Problem> problems = new ArrayList<>();
        if (!record.isObject()) {
            problems.add(new Problem("", "expected a JSON object, got " + record.getNodeType().name().toLowerCase(Locale.ROOT)));
            return problems;
        }
        for (Column column : version.columns()) {
            JsonNode value = record.get(column.name());
            if (value == null || value.isMissingNode()) {
                if (!column.nullable() && column.defaultValue().isEmpty()) {
                    problems.add(new Problem(column.name(), "missing (a " + column.type().declaredName() + " is required)"));
                }
            } else if (value.isNull()) {
                if (!column.nullable()) {
                    problems.add(new Problem(column.name(), "null is not allowed (the column is not nullable)"));
                }
            } else {
                Optional<String> wrong = column.type().problemWith(value);
                wrong.ifPresent(w -> problems.add(new Problem(column.name(), w)));
            }
        }
        for (Iterator<String> names = record.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (version.column(name).isEmpty()) {
                problems.add(new Problem(name, "unknown field; " + version.ref() + " has no such column"));
            }
        }
        return problems;
    }
}
