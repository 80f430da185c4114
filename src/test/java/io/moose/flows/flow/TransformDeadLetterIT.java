package io.moose.flows.flow;

import io.moose.flows.model.FlowDefinition;
import io.moose.flows.testing.DataPlaneFixture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static io.moose.flows.testing.DataPlaneFixture.PA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

class TransformDeadLetterIT {

    private static final int RECORDS = 2000;
    private static final int REJECTED = RECORDS / 100;

    @Test
    void recordsTheTransformThrowsOnGoToTheDeadLetterTopicWithErrorAndOriginalBytesAndTheRestArrive() {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            FlowDefinition flow = new FlowDefinition(UA_0_0, PA_0_0, Optional.of(ThrowsOnEveryHundredth.class.getName()), false);
            FlowRunner runner = dp.flowRunner(flow);
            runner.start(dp.owner);
            dp.tableSync(PA_0_0).start(dp.owner);
            dp.produceUserActivity(UA_0_0, 0, RECORDS);

            await("all other records in the target table", Duration.ofSeconds(60),
                    () -> dp.count(PA_0_0) == RECORDS - REJECTED, () -> dp.count(PA_0_0) + " rows, " + runner.status());
            List<ConsumerRecord<byte[], byte[]>> dead = dp.readAll(dp.names.deadLetter(flow.id()), REJECTED, Duration.ofSeconds(30));
            assertEquals(REJECTED, dead.size());
            for (ConsumerRecord<byte[], byte[]> r : dead) {
                String value = new String(r.value(), StandardCharsets.UTF_8);
                int n = ThrowsOnEveryHundredth.number(value.replaceAll(".*\"eventId\":\"([^\"]+)\".*", "$1"));
                assertEquals(0, n % 100, "only multiples of 100 are rejected");
                assertArrayEquals(DataPlaneFixture.userActivity(UA_0_0, n), r.value(), "original bytes");
                assertEquals(IllegalArgumentException.class.getName(), header(r, TransformStep.ERROR_CLASS));
                assertEquals("record " + n + " is a multiple of 100", header(r, TransformStep.ERROR_MESSAGE));
                assertEquals("transform", header(r, TransformStep.ERROR_STAGE));
                assertEquals(dp.names.flowInput(flow.id()), header(r, TransformStep.ERROR_TOPIC));
                assertNotNull(header(r, TransformStep.ERROR_OFFSET));
            }
            await("the DLQ count in status", Duration.ofSeconds(10),
                    () -> runner.status().deadLettered() == REJECTED, runner::toString);
            assertEquals(REJECTED, dp.registry.get("moose.dlq.records").tag("flow", flow.id()).counter().count());
            assertEquals(0, dp.duplicateCoordinates(PA_0_0));
        }
    }

    private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

}
