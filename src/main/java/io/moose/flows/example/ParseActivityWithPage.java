package io.moose.flows.example;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.api.Transform;

import java.util.List;

/** UserActivity 0.1 -> ParsedActivity 0.1: like {@link ParseActivity}, and keeps the page too. */
public final class ParseActivityWithPage implements Transform {

    private final ParseActivity base = new ParseActivity();

    @Override
    public List<ObjectNode> apply(ObjectNode record) {
        ObjectNode out = base.apply(record).get(0);
        out.put("page", ActivityText.parse(record.path("activity").asText()).page());
        return List.of(out);
    }
}
