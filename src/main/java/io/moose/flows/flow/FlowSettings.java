package io.moose.flows.flow;

import akka.stream.RestartSettings;
import com.typesafe.config.Config;

import java.time.Duration;

/** moose-flows.flow.*: how the topic-to-topic hops of a flow commit, batch and restart. */
public record FlowSettings(Duration commitInterval, int maxPollRecords, Duration producerLinger, long producerBatchSize,
                           Duration statusInterval, Duration stopTimeout, Duration revokeDrainTimeout,
                           RestartSettings restart) {

    public static FlowSettings from(Config config) {
        Config c = config.getConfig("moose-flows.flow");
        Config r = c.getConfig("restart");
        return new FlowSettings(c.getDuration("commit-interval"), c.getInt("max-poll-records"),
                c.getDuration("producer-linger"), c.getBytes("producer-batch-size"),
                c.getDuration("status-interval"), c.getDuration("stop-timeout"), c.getDuration("revoke-drain-timeout"),
                RestartSettings.create(r.getDuration("min-backoff"), r.getDuration("max-backoff"), r.getDouble("random-factor")));
    }

    public FlowSettings withCommitInterval(Duration interval) {
        return new FlowSettings(interval, maxPollRecords, producerLinger, producerBatchSize, statusInterval, stopTimeout, revokeDrainTimeout, restart);
    }
}
