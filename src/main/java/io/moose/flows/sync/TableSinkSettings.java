package io.moose.flows.sync;

import akka.stream.RestartSettings;
import com.typesafe.config.Config;

import java.time.Duration;

/** moose-flows.sync.*: how every table sink (table sync and a migration's last hop) batches and restarts. */
public record TableSinkSettings(int batchSize, Duration linger, Duration minInsertInterval, int maxPollRecords, Duration pollTimeout, int encodeParallelism,
                                Duration statusInterval, Duration stopTimeout, RestartSettings restart) {

    /** ClickHouse's default max_insert_block_size: a larger INSERT would be split and no longer atomic. */
    static final int MAX_ATOMIC_INSERT_ROWS = 1_048_576;

    public TableSinkSettings {
        if (batchSize < 1 || batchSize > MAX_ATOMIC_INSERT_ROWS) {
            throw new IllegalArgumentException("moose-flows.sync.batch-size: must be between 1 and " + MAX_ATOMIC_INSERT_ROWS
                    + " so one batch is one atomic ClickHouse block, got " + batchSize);
        }
        if (encodeParallelism < 1) {
            throw new IllegalArgumentException("moose-flows.sync.encode-parallelism: must be at least 1, got " + encodeParallelism);
        }
    }

    public static TableSinkSettings from(Config config) {
        Config c = config.getConfig("moose-flows.sync");
        return new TableSinkSettings(c.getInt("batch-size"), c.getDuration("linger"), c.getDuration("min-insert-interval"), c.getInt("max-poll-records"), c.getDuration("poll-timeout"), c.getInt("encode-parallelism"),
                c.getDuration("status-interval"), c.getDuration("stop-timeout"), restart(c.getConfig("restart")));
    }

    static RestartSettings restart(Config c) {
        return RestartSettings.create(c.getDuration("min-backoff"), c.getDuration("max-backoff"), c.getDouble("random-factor"));
    }

    public TableSinkSettings withBatchSize(int rows) {
        return new TableSinkSettings(rows, linger, minInsertInterval, maxPollRecords, pollTimeout, encodeParallelism, statusInterval, stopTimeout, restart);
    }

    public TableSinkSettings withLinger(Duration newLinger) {
        return new TableSinkSettings(batchSize, newLinger, minInsertInterval, maxPollRecords, pollTimeout, encodeParallelism, statusInterval, stopTimeout, restart);
    }
}
