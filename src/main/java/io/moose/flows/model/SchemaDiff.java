package io.moose.flows.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * How a generated migration turns a record of one version into the next (design section 2):
 * same-named columns copied (widened when the type grew), new columns filled with their declared
 * default or the type's zero value, dropped columns dropped.
 */
public record SchemaDiff(ModelVersion from, ModelVersion to, List<ColumnMapping> mappings) {

    /** How one target column gets its value: from a source column, or from a constant. */
    public record ColumnMapping(Column target, Optional<Column> source, JsonNode fill) {
    }

    /** Computes the diff, or lists every column that cannot be converted without a hand-written transform. */
    public static SchemaDiff between(ModelVersion from, ModelVersion to, List<String> problems) {
        List<ColumnMapping> mappings = new ArrayList<>();
        for (Column target : to.columns()) {
            Optional<Column> source = from.column(target.name());
            JsonNode fill = target.defaultValue().orElse(target.nullable() ? NullNode.getInstance() : target.type().zeroValue());
            if (source.isPresent()) {
                Column s = source.get();
                if (!s.type().canWidenTo(target.type())) {
                    problems.add("column '" + target.name() + "': " + s.clickhouseType() + " -> " + target.clickhouseType()
                            + " narrows or changes the type; the generated migration cannot convert it, declare a transform");
                    continue;
                }
                if (s.nullable() && !target.nullable() && target.defaultValue().isEmpty()) {
                    problems.add("column '" + target.name() + "': " + s.clickhouseType() + " -> " + target.clickhouseType()
                            + " drops nullability; declare a default for nulls or a transform");
                    continue;
                }
            }
            mappings.add(new ColumnMapping(target, source, fill));
        }
        return new SchemaDiff(from, to, List.copyOf(mappings));
    }
}
