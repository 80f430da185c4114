package io.moose.flows.hop;

import akka.actor.ClassicActorSystemProvider;
import akka.stream.Materializer;

import java.util.function.Consumer;

/**
 * Who a hop's runs belong to: every run is materialized on the owner's materializer, so no run
 * outlives it (an actor's materializer ends every stream when the actor stops, however it stops),
 * and the owner is told when a run was fenced, since only the owner decides to start another.
 *
 * @param fenced called once, from any thread, with the reason, when a hop of the owner was fenced
 */
public record HopOwner(Materializer materializer, Consumer<String> fenced) {

    /** An owner that is the whole actor system (tests and benchmarks): runs end with the system. */
    public static HopOwner of(ClassicActorSystemProvider system, Consumer<String> fenced) {
        return new HopOwner(Materializer.matFromSystem(system), fenced);
    }
}
