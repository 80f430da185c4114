package io.moose.flows.kafka;

import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.Hop;
import io.moose.flows.testing.DataPlaneFixture;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.UA_0_1;
import static io.moose.flows.testing.DataPlaneFixture.await;
import static io.moose.flows.testing.DataPlaneFixture.join;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConsumerGroupOffsetsIT {

    @Test
    void migrationCopyInStartsExactlyAtAnInitializedCutAndInitializationHappensOnce() {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            String source = dp.names.ingestionTopic(UA_0_0);
            dp.produceUserActivity(UA_0_0, 0, 200);
            List<TopicPartition> partitions = join(TopicOffsets.partitions(dp.admin, source));
            Map<TopicPartition, Long> cut = join(TopicOffsets.endOffsets(dp.admin, partitions));

            FlowDefinition migration = dp.project.migrationInto(UA_0_1).orElseThrow();
            String group = dp.names.consumerGroup(migration.id(), Hop.COPY_IN);
            assertTrue(join(ConsumerGroupOffsets.initializeIfAbsent(dp.admin, group, cut)));
            assertFalse(join(ConsumerGroupOffsets.initializeIfAbsent(dp.admin, group, Map.of(partitions.get(0), 0L))),
                    "a group with offsets keeps them");

            dp.produceUserActivity(UA_0_0, 200, 250);
            dp.flowRunner(migration).start(dp.owner);
            await("the records after the cut, and only those", Duration.ofSeconds(60),
                    () -> dp.count(UA_0_1) == 50, () -> String.valueOf(dp.count(UA_0_1)));
            // Give a wrongly early start time to show up before asserting exactness.
            await("copy-in caught up", Duration.ofSeconds(20),
                    () -> dp.flows().get(0).status().hops().get(0).lag() == 0, () -> dp.flows().get(0).status().toString());
            assertEquals(50, dp.count(UA_0_1));
        }
    }
}
