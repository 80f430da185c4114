package io.moose.flows.flow;

import io.moose.flows.hop.HopStatus;

import java.util.List;

/** A snapshot of one flow: each hop in order (copy-in, transform, then copy-out or to-table). */
public record FlowStatus(String flowId, List<HopStatus> hops) {

    public FlowStatus {
        hops = List.copyOf(hops);
    }

    /** Records the flow sent to its dead-letter topic. */
    public long deadLettered() {
        return hops.stream().filter(h -> h.hop().equals(io.moose.flows.model.Hop.TRANSFORM.id()))
                .mapToLong(HopStatus::deadLettered).sum();
    }
}
