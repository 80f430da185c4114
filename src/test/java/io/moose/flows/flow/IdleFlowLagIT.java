package io.moose.flows.flow;

import io.moose.flows.kafka.TopicOffsets;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.Hop;
import io.moose.flows.testing.DataPlaneFixture;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.await;
import static io.moose.flows.testing.DataPlaneFixture.join;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lag is the records a reader would still get: a flow that has caught up shows 0 on every hop, markers or not. */
class IdleFlowLagIT {

    @Test
    void aCaughtUpFlowShowsLagZeroOnEveryHopAlthoughTransactionMarkersFollowItsLastRecords() {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            FlowDefinition flow = dp.project.flowsFrom(UA_0_0).stream().filter(f -> !f.isMigration()).findFirst().orElseThrow();
            dp.flowRunner(flow).start(dp.owner);
            dp.produceUserActivity(UA_0_0, 0, 300);
            // The copy-in hop writes the flow's input in transactions: each leaves a commit marker after its records.
            dp.readAll(dp.names.ingestionTopic(DataPlaneFixture.PA_0_0), 300, Duration.ofSeconds(60));

            String input = dp.names.flowInput(flow.id());
            String transformGroup = dp.names.consumerGroup(flow.id(), Hop.TRANSFORM);
            await("every hop of the idle flow shows lag 0", Duration.ofSeconds(60),
                    () -> dp.flows().get(0).status().hops().stream().allMatch(h -> h.lag() == 0),
                    () -> dp.flows().get(0).status().toString());
            List<TopicPartition> partitions = join(TopicOffsets.partitions(dp.admin, input));
            Map<TopicPartition, Long> ends = join(TopicOffsets.endOffsets(dp.admin, partitions));
            Map<TopicPartition, Long> committed = join(TopicOffsets.committed(dp.admin, transformGroup));
            long offsetsBehind = partitions.stream().mapToLong(p -> ends.get(p) - committed.getOrDefault(p, 0L)).sum();
            // What the old lag showed: the markers after the last records, though nothing is left to read.
            assertTrue(offsetsBehind > 0, "the transform hop's committed offsets stop below its input's last stable offset");
            assertTrue(dp.flows().get(0).status().hops().size() >= 3, dp.flows().get(0).status().toString());
        }
    }
}
