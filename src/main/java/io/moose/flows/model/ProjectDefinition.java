package io.moose.flows.model;

import java.util.List;
import java.util.Optional;

/** The data models and flows in force: everything a node provisions and runs. */
public record ProjectDefinition(List<DataModel> models, List<FlowDefinition> flows) {

    public ProjectDefinition {
        models = List.copyOf(models);
        flows = List.copyOf(flows);
    }

    public Optional<DataModel> model(String name) {
        return models.stream().filter(m -> m.name().equals(name)).findFirst();
    }

    public Optional<ModelVersion> version(VersionRef ref) {
        return model(ref.model()).flatMap(m -> m.version(ref.version()));
    }

    public List<ModelVersion> allVersions() {
        return models.stream().flatMap(m -> m.versions().stream()).toList();
    }

    public Optional<FlowDefinition> flow(String flowId) {
        return flows.stream().filter(f -> f.id().equals(flowId)).findFirst();
    }

    /** Flows whose copy-in hop reads the given version's ingestion topic. */
    public List<FlowDefinition> flowsFrom(VersionRef source) {
        return flows.stream().filter(f -> f.source().equals(source)).toList();
    }

    /** The migration that fills the given version's table from the previous version, if any. */
    public Optional<FlowDefinition> migrationInto(VersionRef target) {
        return flows.stream().filter(f -> f.isMigration() && f.target().equals(target)).findFirst();
    }
}
