package io.moose.flows.dlq;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Where one DLQ partition stands in a replay, kept as the metadata of the replay group's committed
 * offset, so it is committed in the same Kafka transaction as what the replay wrote: the replay's
 * id, the partition's end offset when the replay was asked for (what lies beyond, including the
 * replay's own re-failures, is left for the next one), the {@code since} bound, and the counts so far.
 *
 * @param sinceMillis dead letters written before this (epoch ms) are passed over; -1 for none
 */
public record ReplayCheckpoint(String id, long end, long sinceMillis, long written, long failed, long skipped) {

    private static final String VERSION = "moose-replay/1";

    public String format() {
        return VERSION + " id=" + id + " end=" + end + " since=" + sinceMillis + " written=" + written + " failed=" + failed
                + " skipped=" + skipped;
    }

    /** Empty for metadata this class did not write (none, or another tool's). */
    public static Optional<ReplayCheckpoint> parse(String metadata) {
        if (metadata == null || !metadata.startsWith(VERSION + " ")) {
            return Optional.empty();
        }
        Map<String, String> fields = new HashMap<>();
        for (String part : metadata.substring(VERSION.length() + 1).split(" ")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                fields.put(part.substring(0, eq), part.substring(eq + 1));
            }
        }
        try {
            return Optional.of(new ReplayCheckpoint(fields.get("id"), Long.parseLong(fields.get("end")),
                    Long.parseLong(fields.get("since")), Long.parseLong(fields.get("written")),
                    Long.parseLong(fields.get("failed")), Long.parseLong(fields.get("skipped"))));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    ReplayCheckpoint plus(long moreWritten, long moreFailed, long moreSkipped) {
        return new ReplayCheckpoint(id, end, sinceMillis, written + moreWritten, failed + moreFailed, skipped + moreSkipped);
    }
}
