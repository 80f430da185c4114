package io.moose.flows.node;

import io.moose.flows.CborSerializable;

import io.moose.flows.flow.HopView;

import java.util.List;

/**
 * The status a flow or table sync entity reports, wherever in the cluster it runs.
 *
 * @param kind   regular, migration or table-sync
 * @param state  starting, running, paused, waiting (for a migration's cut) or stopping
 * @param node   the cluster address of the node running it
 */
public record EntityStatus(String kind, String id, String source, String target, String state, String node,
                           List<HopView> hops) implements CborSerializable {

    public long deadLetters() {
        return hops.stream().mapToLong(HopView::deadLetters).sum();
    }
}
