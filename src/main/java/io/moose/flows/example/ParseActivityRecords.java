package io.moose.flows.example;

import io.moose.flows.api.RecordTransform;

import java.time.Instant;
import java.util.List;

/**
 * UserActivity 0.1 -> ParsedActivity 0.1 over Java records: what {@link ParseActivityWithPage} does
 * over JSON trees. Its records are checked against both versions when a definition naming it is planned.
 */
public final class ParseActivityRecords implements RecordTransform<ParseActivityRecords.Activity, ParseActivityRecords.Parsed> {

    /** The UserActivity/0.1 columns this transform reads (region is left out). */
    public record Activity(String eventId, Instant timestamp, String userId, String activity) {
    }

    /** A ParsedActivity/0.1 record. */
    public record Parsed(String eventId, Instant timestamp, String userId, String action, String target, String page) {
    }

    @Override
    public List<Parsed> apply(Activity in) {
        ActivityText parsed = ActivityText.parse(in.activity());
        return List.of(new Parsed(in.eventId(), in.timestamp(), in.userId(), parsed.action(), parsed.target(), parsed.page()));
    }
}
