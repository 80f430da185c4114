package io.moose.flows.dlq;

import com.typesafe.config.Config;

import java.time.Duration;

/** moose-flows.dlq.*: how dead letters are listed and replayed. */
public record DlqSettings(int listLimit, int maxListLimit, int valuePreviewChars, Duration readTimeout,
                          Duration commitInterval, int maxPollRecords, double maxRecordsPerSecond, Duration startTimeout) {

    public DlqSettings {
        if (listLimit < 1 || listLimit > maxListLimit) {
            throw new IllegalArgumentException("moose-flows.dlq.list-limit: must be between 1 and max-list-limit ("
                    + maxListLimit + "), got " + listLimit);
        }
        if (maxPollRecords < 1) {
            throw new IllegalArgumentException("moose-flows.dlq.replay.max-poll-records: must be at least 1, got " + maxPollRecords);
        }
        if (maxRecordsPerSecond < 0) {
            throw new IllegalArgumentException("moose-flows.dlq.replay.max-records-per-second: must be 0 (no limit) or more, got "
                    + maxRecordsPerSecond);
        }
    }

    public static DlqSettings from(Config config) {
        Config c = config.getConfig("moose-flows.dlq");
        Config r = c.getConfig("replay");
        return new DlqSettings(c.getInt("list-limit"), c.getInt("max-list-limit"), c.getInt("value-preview-chars"),
                c.getDuration("read-timeout"), r.getDuration("commit-interval"), r.getInt("max-poll-records"),
                r.getDouble("max-records-per-second"), r.getDuration("start-timeout"));
    }
}
