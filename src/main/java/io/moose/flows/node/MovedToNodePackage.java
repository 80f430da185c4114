package io.moose.flows.node;

import akka.serialization.jackson.JacksonMigration;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * Reads events journaled before the node wiring moved from {@code io.moose.flows} to
 * {@code io.moose.flows.node}: the journal keeps each event's class name in its manifest, so a
 * {@code io.moose.flows.PauseState$Paused} written by an earlier release must still replay as
 * {@link PauseState.Paused}. Registered under the old names in {@code moose-akka.conf}; the JSON
 * itself did not change.
 */
public final class MovedToNodePackage extends JacksonMigration {

    static final String OLD_PACKAGE = "io.moose.flows.";

    @Override
    public int currentVersion() {
        return 2;
    }

    @Override
    public String transformClassName(int fromVersion, String className) {
        return className.startsWith(OLD_PACKAGE + "PauseState")
                ? "io.moose.flows.node." + className.substring(OLD_PACKAGE.length())
                : className;
    }

    @Override
    public JsonNode transform(int fromVersion, JsonNode json) {
        return json;
    }
}
