package io.moose.flows.flow;

import io.moose.flows.api.Transform;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.example.ParseActivity;

import java.util.List;

/** A test transform: ParseActivity, except that it throws on every record whose number is a multiple of 100. */
public final class ThrowsOnEveryHundredth implements Transform {

    private final ParseActivity parse = new ParseActivity();

    /** The number after the version in the fixture's event ids, e.g. 200 in {@code 0.0-200}. */
    public static int number(String eventId) {
        return Integer.parseInt(eventId.substring(eventId.indexOf('-') + 1));
    }

    @Override
    public List<ObjectNode> apply(ObjectNode record) {
        int n = number(record.path("eventId").asText());
        if (n % 100 == 0) {
            throw new IllegalArgumentException("record " + n + " is a multiple of 100");
        }
        return parse.apply(record);
    }
}
