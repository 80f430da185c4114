package io.moose.flows.flow;

import akka.Done;

import java.util.List;
import java.util.concurrent.CompletionStage;

/** The running streams of one entity (a flow's hops, or a table sync), as its actor sees them. */
public interface Runner {

    /** Drains in-flight records, commits, and completes when every stream has stopped. */
    CompletionStage<Done> stop();

    List<HopView> status();
}
