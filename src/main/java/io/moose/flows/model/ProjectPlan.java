package io.moose.flows.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What applying a new project definition to a running cluster would change (POST /project/plan).
 * Applying only ever adds: versions are immutable and flows keep their transforms, so nothing that
 * runs has to restart. Anything else is refused with the reason.
 */
public record ProjectPlan(List<String> newVersions, List<String> newTables, List<String> newTopics,
                          List<String> newFlows, List<String> newMigrations, List<String> refused) {

    public boolean changesNothing() {
        return newVersions.isEmpty() && newFlows.isEmpty();
    }

    public boolean acceptable() {
        return refused.isEmpty();
    }

    public static ProjectPlan between(ProjectDefinition current, ProjectDefinition proposed, TopicNames names) {
        List<String> newVersions = new ArrayList<>();
        List<String> newTables = new ArrayList<>();
        List<String> newTopics = new ArrayList<>();
        List<String> newFlows = new ArrayList<>();
        List<String> newMigrations = new ArrayList<>();
        List<String> refused = new ArrayList<>();

        for (ModelVersion version : current.allVersions()) {
            Optional<ModelVersion> next = proposed.version(version.ref());
            if (next.isEmpty()) {
                refused.add(version.ref() + ": removing a model version is not supported by apply; its table and topic stay");
            } else if (!next.get().equals(version)) {
                refused.add(version.ref() + ": a version's columns or order-by cannot change once deployed; declare a new version instead");
            }
        }
        for (ModelVersion version : proposed.allVersions()) {
            if (current.version(version.ref()).isEmpty()) {
                newVersions.add(version.ref().toString());
                newTables.add(names.table(version.ref()));
                newTopics.add(names.ingestionTopic(version.ref()));
            }
        }
        for (FlowDefinition flow : current.flows()) {
            Optional<FlowDefinition> next = proposed.flow(flow.id());
            if (next.isEmpty()) {
                refused.add("flow " + flow.id() + ": removing a flow is not supported by apply; pause it instead");
            } else if (!next.get().equals(flow)) {
                refused.add("flow " + flow.id() + ": its transform or backfill cannot change once deployed; route through a new version instead");
            }
        }
        for (FlowDefinition flow : proposed.flows()) {
            if (current.flow(flow.id()).isEmpty()) {
                newFlows.add(flow.id());
                newTopics.add(names.flowInput(flow.id()));
                newTopics.add(names.flowOutput(flow.id()));
                newTopics.add(names.deadLetter(flow.id()));
                if (flow.loadsHistory()) {
                    newMigrations.add(flow.id());
                }
            }
        }
        return new ProjectPlan(newVersions, newTables, newTopics, newFlows, newMigrations, refused);
    }
}
