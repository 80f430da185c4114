package io.moose.flows.dlq;

import io.moose.flows.CborSerializable;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A flow's DLQ replay as an operator sees it.
 *
 * @param state       {@code none} (never replayed), {@code running}, {@code finished}, {@code interrupted} (the
 *                    node running it stopped or died: run replay again to finish it), or {@code failed}
 * @param sinceMillis dead letters written before it (epoch ms) are passed over; -1 for none
 * @param written     dead letters whose transform now succeeded: their records are in the output topic
 * @param failed      dead letters that failed again: back in the DLQ with the new error
 * @param skipped     dead letters passed over because they were written before {@code since}
 * @param remaining   what this replay has still to read, in DLQ offsets (transaction markers count too, so an
 *                    upper bound on the dead letters, like a hop's lag)
 */
public record ReplayStatus(String flowId, String state, String id, boolean resumed, long sinceMillis, long written,
                           long failed, long skipped, long remaining, String error) implements CborSerializable {

    public static final String NONE = "none";
    public static final String RUNNING = "running";
    public static final String FINISHED = "finished";
    public static final String INTERRUPTED = "interrupted";
    public static final String FAILED = "failed";

    public static ReplayStatus none(String flowId) {
        return new ReplayStatus(flowId, NONE, "", false, -1, 0, 0, 0, 0, "");
    }

    public boolean running() {
        return RUNNING.equals(state);
    }

    ReplayStatus withState(String newState, String newError) {
        return new ReplayStatus(flowId, newState, id, resumed, sinceMillis, written, failed, skipped, remaining, newError);
    }

    /**
     * The last replay as its committed checkpoints record it: finished when every partition reached
     * its end, interrupted otherwise (nothing runs it: a running one is reported by its entity).
     */
    public static ReplayStatus fromCommitted(String flowId, Map<TopicPartition, OffsetAndMetadata> committed) {
        Map<String, Long> latestById = new HashMap<>();
        committed.values().forEach(o -> checkpoint(o).ifPresent(c -> latestById.merge(c.id(), 1L, Long::sum)));
        if (latestById.isEmpty()) {
            return none(flowId);
        }
        // The first transaction of a replay checkpoints every partition, so all carry the same id.
        String id = latestById.entrySet().stream().max(Map.Entry.comparingByValue()).get().getKey();
        long written = 0;
        long failed = 0;
        long skipped = 0;
        long remaining = 0;
        long since = -1;
        for (OffsetAndMetadata o : committed.values()) {
            Optional<ReplayCheckpoint> c = checkpoint(o).filter(cp -> cp.id().equals(id));
            if (c.isPresent()) {
                written += c.get().written();
                failed += c.get().failed();
                skipped += c.get().skipped();
                remaining += Math.max(0, c.get().end() - o.offset());
                since = c.get().sinceMillis();
            }
        }
        return new ReplayStatus(flowId, remaining > 0 ? INTERRUPTED : FINISHED, id, false, since, written, failed, skipped,
                remaining, "");
    }

    static Optional<ReplayCheckpoint> checkpoint(OffsetAndMetadata offset) {
        return offset == null ? Optional.empty() : ReplayCheckpoint.parse(offset.metadata());
    }
}
