package io.moose.flows.flow;

import akka.kafka.ConsumerMessage;
import akka.kafka.ProducerMessage;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FlowHopsTest {

    @Test
    void aCopyBatchBecomesOneMessagePerPartitionCarryingItsRecordsInOrderAndItsLastOffset() {
        List<ConsumerMessage.TransactionalMessage<byte[], byte[]>> batch = new ArrayList<>();
        long[][] partitionAndOffset = {{0, 10}, {1, 7}, {0, 11}, {1, 9}, {2, 3}, {0, 12}};
        for (long[] po : partitionAndOffset) {
            ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>("in", (int) po[0], po[1], 1_700_000_000_000L,
                    TimestampType.CREATE_TIME, 0, 4, null, (po[0] + "@" + po[1]).getBytes(), new RecordHeaders(), Optional.empty());
            batch.add(new ConsumerMessage.TransactionalMessage<>(record, new ConsumerMessage.PartitionOffset(
                    new ConsumerMessage.GroupTopicPartition("g", "in", (int) po[0]), po[1])));
        }

        List<ProducerMessage.Envelope<byte[], byte[], ConsumerMessage.PartitionOffset>> out = FlowHops.perPartition(batch, "out");

        assertEquals(3, out.size());
        List<String> summary = new ArrayList<>();
        for (ProducerMessage.Envelope<byte[], byte[], ConsumerMessage.PartitionOffset> e : out) {
            ProducerMessage.MultiMessage<byte[], byte[], ConsumerMessage.PartitionOffset> m =
                    (ProducerMessage.MultiMessage<byte[], byte[], ConsumerMessage.PartitionOffset>) e;
            StringBuilder s = new StringBuilder(m.passThrough().key().partition() + ":" + m.passThrough().offset() + " <-");
            scala.jdk.javaapi.CollectionConverters.asJava(m.records()).forEach(r -> s.append(' ').append(r.topic()).append('/').append(new String(r.value())));
            summary.add(s.toString());
        }
        assertEquals(List.of("0:12 <- out/0@10 out/0@11 out/0@12", "1:9 <- out/1@7 out/1@9", "2:3 <- out/2@3"), summary);
    }
}
