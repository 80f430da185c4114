package io.moose.flows.example;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.api.Transform;

import java.util.List;

/** UserActivity 0.0 -> ParsedActivity 0.0: splits the activity string into action and target. */
public final class ParseActivity implements Transform {

    @Override
    public List<ObjectNode> apply(ObjectNode record) {
        ActivityText parsed = ActivityText.parse(record.path("activity").asText());
        ObjectNode out = record.objectNode();
        out.set("eventId", record.get("eventId"));
        out.set("timestamp", record.get("timestamp"));
        out.set("userId", record.get("userId"));
        out.put("action", parsed.action());
        out.put("target", parsed.target());
        return List.of(out);
    }
}
