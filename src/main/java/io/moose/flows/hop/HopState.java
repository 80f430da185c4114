package io.moose.flows.hop;

/**
 * Where a hop is in its life ({@link SupervisedHop} moves it, and nothing else does):
 * <pre>
 *   STARTING --ready--> RUNNING --run failed--> RESTARTING --backoff--> STARTING
 *   any running state --stop--> DRAINING --run ended or cut off--> STOPPED
 *   any running state --run fenced--> FENCED
 * </pre>
 * STOPPED and FENCED are final: the hop's owner starts a new hop if it wants one.
 */
public enum HopState {
    /** A run was started and has not yet reached Kafka / ClickHouse. */
    STARTING,
    /** A run is consuming (it is ready or has made progress). */
    RUNNING,
    /** The last run failed; waiting for the backoff before the next one (see {@link HopStatus#lastError()}). */
    RESTARTING,
    /** Another run took over (a newer producer, sink run or group generation): this hop ended for good and told its owner. */
    FENCED,
    /** Asked to stop: the current run finishes its transaction or insert and ends. */
    DRAINING,
    /** Stopped on request, or its owner is gone. */
    STOPPED;

    /** Whether the hop has ended for good. */
    public boolean isFinal() {
        return this == FENCED || this == STOPPED;
    }
}
