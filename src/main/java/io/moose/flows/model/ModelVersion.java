package io.moose.flows.model;

import java.util.List;
import java.util.Optional;

/** The schema of one version of a data model. */
public record ModelVersion(VersionRef ref, List<Column> columns, List<String> orderBy) {

    public ModelVersion {
        columns = List.copyOf(columns);
        orderBy = List.copyOf(orderBy);
    }

    public Optional<Column> column(String name) {
        return columns.stream().filter(c -> c.name().equals(name)).findFirst();
    }
}
