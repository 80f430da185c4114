package io.moose.flows.model;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

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

    /** The record's problems in column order, then its unknown fields; empty (and not modifiable) when it is valid. */
    public static List<Problem> validate(JsonNode record, ModelVersion version) {
        if (!record.isObject()) {
            return List.of(new Problem("", "expected a JSON object, got " + record.getNodeType().name().toLowerCase(Locale.ROOT)));
        }
        List<Problem> problems = null;
        int known = 0;
        for (Column column : version.columns()) {
            JsonNode value = record.get(column.name());
            String problem = null;
            if (value == null || value.isMissingNode()) {
                if (!column.nullable() && column.defaultValue().isEmpty()) {
                    problem = "missing (a " + column.type().declaredName() + " is required)";
                }
            } else {
                known++;
                if (value.isNull()) {
                    if (!column.nullable()) {
                        problem = "null is not allowed (the column is not nullable)";
                    }
                } else {
                    problem = column.type().problemWith(value).orElse(null);
                }
            }
            if (problem != null) {
                problems = add(problems, new Problem(column.name(), problem));
            }
        }
        // every field is a column unless the record has more fields than it has columns
        if (record.size() > known) {
            for (Iterator<String> names = record.fieldNames(); names.hasNext(); ) {
                String name = names.next();
                if (version.column(name).isEmpty()) {
                    problems = add(problems, new Problem(JsonText.escapeLoneSurrogates(name),
                            "unknown field; " + version.ref() + " has no such column"));
                }
            }
        }
        return problems == null ? List.of() : problems;
    }

    private static List<Problem> add(List<Problem> problems, Problem problem) {
        List<Problem> list = problems == null ? new ArrayList<>() : problems;
        list.add(problem);
        return list;
    }
}
