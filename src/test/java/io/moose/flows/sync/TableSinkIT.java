package io.moose.flows.sync;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.hop.HopState;
import io.moose.flows.testing.DataPlaneFixture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.await;
import static io.moose.flows.testing.DataPlaneFixture.join;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TableSinkIT {

    private static final int RECORDS = 300;

    @Test
    void sinkSkipsWhatTheTableAlreadyHoldsAndResumesAboveIt() throws Exception {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            String topic = dp.names.ingestionTopic(UA_0_0);
            dp.produceUserActivity(UA_0_0, 0, RECORDS);
            List<ConsumerRecord<byte[], byte[]>> records = dp.readAll(topic, RECORDS, Duration.ofSeconds(30));

            // As if an earlier run had inserted the first half of every partition and then crashed.
            RowEncoder encoder = new RowEncoder(dp.version(UA_0_0), new ObjectMapper());
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            Map<Integer, Long> expectedMarks = new HashMap<>();
            int preloaded = 0;
            for (ConsumerRecord<byte[], byte[]> r : records) {
                if (r.offset() % 2 == 0 || r.offset() < 20) {
                    continue;
                }
                if (r.offset() < 60) {
                    body.writeBytes(encoder.encode(r.value(), r.topic(), r.partition(), r.offset()));
                    expectedMarks.merge(r.partition(), r.offset(), Math::max);
                    preloaded++;
                }
            }
            join(dp.clickhouse.insertJsonEachRow(dp.names.table(UA_0_0), body.toByteArray()));
            assertEquals(expectedMarks, join(TableWatermarks.highestOffsets(dp.clickhouse, dp.names.table(UA_0_0), topic)));

            long stored = preloaded;
            TableSyncRunner sync = dp.tableSync(UA_0_0);
            sync.start(dp.owner);
            long above = records.stream().filter(r -> r.offset() > expectedMarks.getOrDefault(r.partition(), -1L)).count();
            await("every record above the high-water marks", Duration.ofSeconds(30),
                    () -> dp.count(UA_0_0) == stored + above, () -> dp.count(UA_0_0) + " rows, " + sync.status());
            assertEquals(0, dp.duplicateCoordinates(UA_0_0));
            await("status catches up", Duration.ofSeconds(10),
                    () -> sync.status().processed() == above && sync.status().lag() == 0, () -> sync.status().toString());
        }
    }

    @Test
    void invalidRecordsAreSkippedAndCountedWithoutStoppingTheSink() {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            String topic = dp.names.ingestionTopic(UA_0_0);
            TableSyncRunner sync = dp.tableSync(UA_0_0);
            sync.start(dp.owner);
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                records.add(new ProducerRecord<>(topic, DataPlaneFixture.userActivity(UA_0_0, i)));
                if (i == 10) {
                    records.add(new ProducerRecord<>(topic, "{not json".getBytes(StandardCharsets.UTF_8)));
                }
                if (i == 50) {
                    records.add(new ProducerRecord<>(topic, "{\"eventId\":1}".getBytes(StandardCharsets.UTF_8)));
                }
            }
            dp.produce(topic, records);
            await("the valid records", Duration.ofSeconds(30), () -> dp.count(UA_0_0) == 100, () -> sync.status().toString());
            await("the invalid ones counted", Duration.ofSeconds(10), () -> sync.status().deadLettered() == 2, () -> sync.status().toString());
            assertEquals(HopState.RUNNING, sync.status().state());
            assertEquals(2.0, dp.registry.get("moose.sink.invalid.records").counter().count());
        }
    }

    @Test
    void aSinkRunThatIsNoLongerTheNewestEndsForGoodAndItsOwnersNextRunResumesAboveTheMark() {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            String topic = dp.names.ingestionTopic(UA_0_0);
            String table = dp.names.table(UA_0_0);
            TableSyncRunner sync = dp.tableSync(UA_0_0);
            sync.start(dp.owner);
            dp.produceUserActivity(UA_0_0, 0, RECORDS);
            await("the first records", Duration.ofSeconds(30), () -> dp.count(UA_0_0) == RECORDS, () -> sync.status().toString());

            // Another node takes the sink over, as after this one was paused and downed.
            SinkFence newer = join(SinkFence.register(dp.clickhouse, table, topic));
            dp.produceUserActivity(UA_0_0, RECORDS, 2 * RECORDS);
            await("the old run fenced off", Duration.ofSeconds(30),
                    () -> sync.status().state() == HopState.FENCED, () -> sync.status().toString());
            assertEquals(RECORDS, dp.count(UA_0_0), "the fenced run inserted nothing");
            assertEquals(1, dp.fencings.size(), "its owner was told: " + dp.fencings);
            assertTrue(sync.status().lastError().orElseThrow().contains("took over"), sync.status().toString());

            // It does not restart itself: only its owner starts another run.
            dp.produceUserActivity(UA_0_0, 2 * RECORDS, 3 * RECORDS);
            sleep(Duration.ofSeconds(3));
            assertEquals(RECORDS, dp.count(UA_0_0), "nothing inserted while no owner started a run");
            assertEquals(HopState.FENCED, sync.status().state());

            sync.stop();
            TableSyncRunner next = dp.tableSync(UA_0_0);
            next.start(dp.owner);
            await("the owner's next run resumes and inserts the rest", Duration.ofSeconds(30),
                    () -> dp.count(UA_0_0) == 3 * RECORDS, () -> dp.count(UA_0_0) + " rows, " + next.status());
            assertEquals(0, dp.duplicateCoordinates(UA_0_0));
            long epochs = Long.parseLong(join(dp.clickhouse.query("SELECT max(epoch) FROM " + dp.clickhouse.qualified(SinkFence.TABLE)
                    + " WHERE sink_table = '" + table + "'")).get(0).get(0));
            assertEquals(newer.epoch() + 1, epochs, "the owner's next run registered above the one that took over");
        }
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
