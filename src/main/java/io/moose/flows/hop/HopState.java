package io.moose.flows.hop;

/** Where a supervised hop is in its life. */
public enum HopState {
    /** Started, its first run has not yet reached Kafka / ClickHouse. */
    STARTING,
    /** Consuming; the last run (if any) failed but the current one has made progress or is ready. */
    RUNNING,
    /** The last run failed; waiting for the backoff before the next one (see {@link HopStatus#lastError()}). */
    RESTARTING,
    /** Stopped on request, or stopping (draining). */
    STOPPED
}
