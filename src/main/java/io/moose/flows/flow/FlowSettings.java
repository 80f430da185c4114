package io.moose.flows.flow;

import akka.stream.RestartSettings;
import com.typesafe.config.Config;

import java.time.Duration;

/** moose-flows.flow.*: how the topic-to-topic hops of a flow commit, batch and restart. */
public record FlowSettings(Duration commitInterval, Duration minCommitInterval, int maxPollRecords, Duration producerLinger, long producerBatchSize,
                           int producerMaxInFlight, Duration pollTimeout, int transformParallelism, int transformMinSlice,
                           Duration statusInterval, Duration stopTimeout,
                           RestartSettings restart) {

    /** The most in-flight requests Kafka's idempotent (and so transactional) producer keeps in order. */
    static final int MAX_ORDERED_IN_FLIGHT = 5;

    public FlowSettings {
        if (transformParallelism < 1) {
            throw new IllegalArgumentException("moose-flows.flow.transform-parallelism: must be at least 1, got " + transformParallelism);
        }
        if (transformMinSlice < 1) {
            throw new IllegalArgumentException("moose-flows.flow.transform-min-slice: must be at least 1, got " + transformMinSlice);
        }
        if (minCommitInterval.compareTo(commitInterval) > 0) {
            throw new IllegalArgumentException("moose-flows.flow.min-commit-interval: must not exceed commit-interval ("
                    + commitInterval + "), got " + minCommitInterval);
        }
        if (producerMaxInFlight < 1 || producerMaxInFlight > MAX_ORDERED_IN_FLIGHT) {
            throw new IllegalArgumentException("moose-flows.flow.producer-max-in-flight: must be between 1 and "
                    + MAX_ORDERED_IN_FLIGHT + " (the transactional producer keeps order only up to that), got " + producerMaxInFlight);
        }
    }

    public static FlowSettings from(Config config) {
        Config c = config.getConfig("moose-flows.flow");
        Config r = c.getConfig("restart");
        Duration commitInterval = c.getDuration("commit-interval");
        Duration minCommitInterval = c.getDuration("min-commit-interval");
        // Capped, not refused: lowering commit-interval alone (the usual latency tuning) must not
        // also require lowering its floor.
        return new FlowSettings(commitInterval, minCommitInterval.compareTo(commitInterval) > 0 ? commitInterval : minCommitInterval, c.getInt("max-poll-records"),
                c.getDuration("producer-linger"), c.getBytes("producer-batch-size"), c.getInt("producer-max-in-flight"), c.getDuration("poll-timeout"),
                c.getInt("transform-parallelism"), c.getInt("transform-min-slice"),
                c.getDuration("status-interval"), c.getDuration("stop-timeout"),
                RestartSettings.create(r.getDuration("min-backoff"), r.getDuration("max-backoff"), r.getDouble("random-factor")));
    }

    public FlowSettings withCommitInterval(Duration interval) {
        return new FlowSettings(interval, minCommitInterval.compareTo(interval) > 0 ? interval : minCommitInterval, maxPollRecords, producerLinger, producerBatchSize, producerMaxInFlight, pollTimeout, transformParallelism, transformMinSlice, statusInterval, stopTimeout, restart);
    }
}
