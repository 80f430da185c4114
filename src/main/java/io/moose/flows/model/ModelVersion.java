package io.moose.flows.model;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The schema of one version of a data model. A class rather than a record only to keep a column
 * index beside the three values that define it (equality is on those three).
 */
public final class ModelVersion {

    private final VersionRef ref;
    private final List<Column> columns;
    private final List<String> orderBy;
    /** Looked up for every field of every record the data plane validates. */
    private final Map<String, Column> columnsByName = new HashMap<>();

    public ModelVersion(VersionRef ref, List<Column> columns, List<String> orderBy) {
        this.ref = ref;
        this.columns = List.copyOf(columns);
        this.orderBy = List.copyOf(orderBy);
        for (Column c : this.columns) {
            columnsByName.putIfAbsent(c.name(), c);
        }
    }

    public VersionRef ref() {
        return ref;
    }

    public List<Column> columns() {
        return columns;
    }

    public List<String> orderBy() {
        return orderBy;
    }

    public Optional<Column> column(String name) {
        return Optional.ofNullable(columnsByName.get(name));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelVersion other && ref.equals(other.ref) && columns.equals(other.columns) && orderBy.equals(other.orderBy);
    }

    @Override
    public int hashCode() {
        return Objects.hash(ref, columns, orderBy);
    }

    @Override
    public String toString() {
        return "ModelVersion[ref=" + ref + ", columns=" + columns + ", orderBy=" + orderBy + "]";
    }
}
