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

    /**
     * Every topic whose records land in the given version's table: its ingestion topic (table sync)
     * and the output topic of the migration into it (that hop writes the table directly).
     */
    public List<String> tableFeeds(VersionRef version, TopicNames names) {
        List<String> feeds = new java.util.ArrayList<>();
        feeds.add(names.ingestionTopic(version));
        migrationInto(version).ifPresent(m -> feeds.add(names.flowOutput(m.id())));
        return feeds;
    }

    /**
     * The topics a flow's copy-in hop reads. A migration must carry everything that reaches the
     * source table, including what an earlier migration is still writing into it; a regular flow
     * reads only its source's ingestion topic, because migrated records reach its target through
     * the target model's own migration (the RFC's double-reach rule).
     */
    public List<String> copyInSources(FlowDefinition flow, TopicNames names) {
        return flow.isMigration() ? tableFeeds(flow.source(), names) : List.of(names.ingestionTopic(flow.source()));
    }

    /** The migration that fills the given version's table from the previous version, if any. */
    public Optional<FlowDefinition> migrationInto(VersionRef target) {
        return flows.stream().filter(f -> f.isMigration() && f.target().equals(target)).findFirst();
    }
}
