package io.moose.flows.hop;

import akka.kafka.javadsl.Consumer;

/** What a hop's stream tells its supervisor while it runs. */
public interface HopContext {

    /** The run reached its services (e.g. a sink read its high-water mark): the hop is running again. */
    void ready();

    /** The consumer control of the current run, so a stop can drain it. */
    void controlledBy(Consumer.Control control);

    /** Records that left the hop for good (produced, or inserted); counts in status and metrics. */
    void processed(long records);

    /** Records diverted: sent to the dead-letter topic, or skipped by a sink as invalid. */
    void deadLettered(long records);
}
