package io.moose.flows.model;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** A data model and its versions, oldest first. */
public record DataModel(String name, List<ModelVersion> versions) {

    public DataModel {
        versions = versions.stream().sorted(Comparator.comparing(v -> v.ref().version(), Versions.ORDER)).toList();
    }

    public Optional<ModelVersion> version(String version) {
        return versions.stream().filter(v -> v.ref().version().equals(version)).findFirst();
    }

    public ModelVersion latest() {
        return versions.get(versions.size() - 1);
    }
}
