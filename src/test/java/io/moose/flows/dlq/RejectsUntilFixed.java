package io.moose.flows.dlq;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.example.ParseActivity;
import io.moose.flows.api.Transform;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A test transform with a bug and its fix: ParseActivity, except that it throws on every record whose
 * number is a multiple of 10; once the file named by the system property {@value #MARKER_PROPERTY}
 * exists ("the fix is deployed"), only multiples of 30 still throw, with another error.
 */
public final class RejectsUntilFixed implements Transform {

    public static final String MARKER_PROPERTY = "moose.test.fixed-marker";

    private final ParseActivity parse = new ParseActivity();

    /** The number after the last '-' of an event id, e.g. 200 in {@code replay-200}. */
    public static int number(String eventId) {
        return Integer.parseInt(eventId.substring(eventId.lastIndexOf('-') + 1));
    }

    public static boolean rejectedAtFirst(int n) {
        return n % 10 == 0;
    }

    public static boolean rejectedAfterTheFix(int n) {
        return n % 30 == 0;
    }

    @Override
    public List<ObjectNode> apply(ObjectNode record) {
        int n = number(record.path("eventId").asText());
        if (rejectedAtFirst(n)) {
            if (!fixed()) {
                throw new IllegalArgumentException("record " + n + " is a multiple of 10");
            }
            if (rejectedAfterTheFix(n)) {
                throw new IllegalStateException("record " + n + " still fails after the fix");
            }
        }
        return parse.apply(record);
    }

    private static boolean fixed() {
        String marker = System.getProperty(MARKER_PROPERTY);
        return marker != null && Files.exists(Path.of(marker));
    }
}
