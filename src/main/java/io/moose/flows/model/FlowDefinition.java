package io.moose.flows.model;

import java.util.Optional;

/**
 * A flow from one model version to another. Same model on both ends makes it a migration flow,
 * whose output goes straight into the target table; otherwise a regular flow, whose output goes to
 * the target's ingestion topic.
 *
 * @param transformClass the user's {@code Transform} class; empty for a migration means "generate it"
 * @param backfill       a regular flow that also loads its source table's history (design section 4)
 */
public record FlowDefinition(VersionRef source, VersionRef target, Optional<String> transformClass, boolean backfill) {

    /** {@code UserActivity_0_0_UserActivity_0_1}. */
    public String id() {
        return source.baseName() + "_" + target.baseName();
    }

    public boolean isMigration() {
        return source.model().equals(target.model());
    }

    /** Migrations always load history; regular flows only when declared with backfill. */
    public boolean loadsHistory() {
        return isMigration() || backfill;
    }
}
