package io.moose.flows.flow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.api.Transform;
import io.moose.flows.model.Column;
import io.moose.flows.model.DefinitionException;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.SchemaDiff;

import java.util.ArrayList;
import java.util.List;

/**
 * The transform of a migration flow declared without one, generated from the schema difference:
 * same-named columns copied (widened when the type grew), new columns filled with their declared
 * default or the type's zero value (null when nullable), dropped columns dropped.
 */
public final class SchemaMigration implements Transform {

    private final SchemaDiff diff;

    public SchemaMigration(SchemaDiff diff) {
        this.diff = diff;
    }

    /** The generated migration between two versions, or an error naming every column it cannot convert. */
    public static SchemaMigration between(ModelVersion from, ModelVersion to) {
        List<String> problems = new ArrayList<>();
        SchemaDiff diff = SchemaDiff.between(from, to, problems);
        if (!problems.isEmpty()) {
            throw new DefinitionException("migration " + from.ref() + " -> " + to.ref(), problems);
        }
        return new SchemaMigration(diff);
    }

    @Override
    public List<ObjectNode> apply(ObjectNode record) {
        ObjectNode out = record.objectNode();
        for (SchemaDiff.ColumnMapping mapping : diff.mappings()) {
            Column target = mapping.target();
            JsonNode value = mapping.source().map(s -> record.get(s.name())).orElse(null);
            if (value == null || value.isMissingNode() || (value.isNull() && !target.nullable())) {
                out.set(target.name(), mapping.fill());
            } else if (value.isNull()) {
                out.putNull(target.name());
            } else {
                Column source = mapping.source().orElseThrow();
                out.set(target.name(), source.type().widen(value, target.type()));
            }
        }
        return List.of(out);
    }
}
