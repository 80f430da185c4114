package io.moose.flows.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.moose.flows.dlq.DeadLetters;
import io.moose.flows.dlq.ReplayStatus;
import io.moose.flows.node.EntityStatus;
import io.moose.flows.flow.HopView;
import io.moose.flows.migration.MigrationActor;
import io.moose.flows.model.Column;
import io.moose.flows.model.DataModel;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectPlan;
import io.moose.flows.model.TopicNames;

import java.util.List;
import java.util.function.UnaryOperator;

/** The JSON shapes of the admin routes, shared by the routes and the command-line client. */
final class AdminJson {

    /** Instants as ISO-8601 text, readable by people and by any client. */
    static final ObjectMapper MAPPER = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    private AdminJson() {
    }

    static ObjectNode error(String message) {
        return MAPPER.createObjectNode().put("error", message);
    }

    static byte[] bytes(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("admin views are plain records and trees; they always serialize", e);
        }
    }

    /** One flow or table sync, with the totals an operator scans for first: lag and dead letters. */
    static ObjectNode entity(EntityStatus status) {
        ObjectNode node = MAPPER.createObjectNode()
                .put("id", status.id())
                .put("kind", status.kind())
                .put("source", status.source())
                .put("target", status.target())
                .put("state", status.state())
                .put("node", status.node())
                .put("lag", totalLag(status.hops()))
                .put("deadLetters", status.deadLetters());
        if ("failed".equals(status.state())) {
            // Why it cannot start on its node (e.g. its transform class is in no jar there); it tries again.
            status.hops().stream().filter(h -> "failed".equals(h.state())).findFirst()
                    .ifPresent(h -> node.put("problem", h.lastError()));
        }
        node.set("hops", MAPPER.valueToTree(status.hops()));
        return node;
    }

    /** The sum of the hops' known lags; -1 when no hop knows its lag yet (or none runs). */
    static long totalLag(List<HopView> hops) {
        return hops.stream().filter(h -> h.lag() >= 0).mapToLong(HopView::lag)
                .reduce(Long::sum).orElse(-1);
    }

    static ObjectNode migration(MigrationActor.Progress progress) {
        ObjectNode node = MAPPER.valueToTree(progress);
        node.put("percent", percent(progress.rowsLoaded(), progress.rowsToLoad(), progress.phase()));
        return node;
    }

    /** 100 once done (a migration with nothing to load is complete too), else the share loaded. */
    static double percent(long loaded, long toLoad, String phase) {
        if ("done".equals(phase)) {
            return 100.0;
        }
        return toLoad <= 0 ? 0.0 : Math.min(100.0, 100.0 * loaded / toLoad);
    }

    /** A flow's dead letters (newest last) and its running or last replay. */
    static ObjectNode dlq(DeadLetters.Listing listing, ReplayStatus replay) {
        ObjectNode node = MAPPER.createObjectNode()
                .put("flow", listing.flowId())
                .put("topic", listing.topic())
                .put("total", listing.total())
                .put("notReplayed", listing.notReplayed());
        node.set("deadLetters", MAPPER.valueToTree(listing.deadLetters()));
        node.set("replay", replay(replay));
        return node;
    }

    static ObjectNode replay(ReplayStatus status) {
        ObjectNode node = MAPPER.createObjectNode()
                .put("flow", status.flowId())
                .put("state", status.state())
                .put("id", status.id())
                .put("resumed", status.resumed());
        node.put("since", status.sinceMillis() < 0 ? null : java.time.Instant.ofEpochMilli(status.sinceMillis()).toString());
        node.put("written", status.written())
                .put("failedAgain", status.failed())
                .put("passedOver", status.skipped())
                .put("remaining", status.remaining())
                .put("error", status.error());
        return node;
    }

    static ObjectNode plan(ProjectPlan plan) {
        return MAPPER.valueToTree(plan);
    }

    /** The definition in force with every name derived from it, so nobody has to work them out by hand. */
    static ObjectNode project(ProjectActor.Current current, ProjectDefinition definition, TopicNames names,
                              UnaryOperator<String> qualifiedTable) {
        ObjectNode root = MAPPER.createObjectNode()
                .put("source", current.source())
                .put("appliedAt", current.appliedAt() == null ? null : current.appliedAt().toString())
                .put("text", current.text());
        ArrayNode models = root.putArray("models");
        ArrayNode topics = root.putArray("topics");
        ArrayNode tables = root.putArray("tables");
        for (DataModel model : definition.models()) {
            ArrayNode versions = models.addObject().put("name", model.name()).putArray("versions");
            for (ModelVersion version : model.versions()) {
                String table = qualifiedTable.apply(names.table(version.ref()));
                ObjectNode v = versions.addObject()
                        .put("version", version.ref().version())
                        .put("table", table)
                        .put("ingestionTopic", names.ingestionTopic(version.ref()));
                ArrayNode columns = v.putArray("columns");
                for (Column column : version.columns()) {
                    ObjectNode c = columns.addObject()
                            .put("name", column.name())
                            .put("type", column.type().declaredName())
                            .put("nullable", column.nullable());
                    column.defaultValue().ifPresent(d -> c.set("default", d));
                }
                v.set("orderBy", MAPPER.valueToTree(version.orderBy()));
                topics.add(names.ingestionTopic(version.ref()));
                tables.add(table);
            }
        }
        ArrayNode flows = root.putArray("flows");
        for (FlowDefinition flow : definition.flows()) {
            ObjectNode f = flows.addObject()
                    .put("id", flow.id())
                    .put("kind", flow.isMigration() ? "migration" : "regular")
                    .put("source", flow.source().toString())
                    .put("target", flow.target().toString())
                    .put("transform", flow.transformClass().orElse("generated from the schema difference"))
                    .put("loadsHistory", flow.loadsHistory())
                    .put("inputTopic", names.flowInput(flow.id()))
                    .put("outputTopic", names.flowOutput(flow.id()))
                    .put("deadLetterTopic", names.deadLetter(flow.id()));
            f.put("writesTo", flow.isMigration()
                    ? qualifiedTable.apply(names.table(flow.target()))
                    : names.ingestionTopic(flow.target()));
            topics.add(names.flowInput(flow.id())).add(names.flowOutput(flow.id())).add(names.deadLetter(flow.id()));
        }
        return root;
    }
}
