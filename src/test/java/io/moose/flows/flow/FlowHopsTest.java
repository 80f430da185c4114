package io.moose.flows.flow;

import akka.NotUsed;
import akka.actor.ActorSystem;
import akka.kafka.ConsumerMessage;
import akka.kafka.ProducerMessage;
import akka.kafka.javadsl.Consumer;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.moose.flows.hop.HopContext;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    private static ConsumerMessage.PartitionOffset offset(int partition, long offset) {
        return new ConsumerMessage.PartitionOffset(new ConsumerMessage.GroupTopicPartition("g", "in", partition), offset);
    }

    private static ProducerRecord<byte[], byte[]> record(String topic, String value) {
        return new ProducerRecord<>(topic, value.getBytes());
    }

    /** Input {@code partition@offset} with {@code outputs} records to "out", or (outputs < 0) one to "dlq". */
    private static FlowHops.Transformed transformed(int partition, long offset, int outputs) {
        String id = partition + "@" + offset;
        if (outputs < 0) {
            return new FlowHops.Transformed(offset(partition, offset), new TransformStep.Outcome(List.of(record("dlq", id)), true));
        }
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = 0; i < outputs; i++) {
            records.add(record("out", id + "#" + i));
        }
        return new FlowHops.Transformed(offset(partition, offset), new TransformStep.Outcome(records, false));
    }

    private static String summary(FlowHops.PartitionBatch b) {
        StringBuilder s = new StringBuilder(b.envelope().passThrough().key().partition() + ":" + b.envelope().passThrough().offset()
                + " inputs=" + b.inputs() + " dlq=" + b.deadLettered() + " <-");
        if (b.envelope() instanceof ProducerMessage.MultiMessage<byte[], byte[], ConsumerMessage.PartitionOffset> m) {
            scala.jdk.javaapi.CollectionConverters.asJava(m.records()).forEach(r -> s.append(' ').append(r.topic()).append('/').append(new String(r.value())));
        } else {
            assertTrue(b.envelope() instanceof ProducerMessage.PassThroughMessage<?, ?, ?>, b.envelope().toString());
            s.append(" (pass-through)");
        }
        return s.toString();
    }

    @Test
    void aTransformBatchBecomesOneMessagePerPartitionWithAllOutputsAndDeadLettersInOrderAndItsLastOffset() {
        List<FlowHops.Transformed> batch = List.of(
                transformed(0, 10, 2), transformed(1, 7, -1), transformed(0, 11, 0), transformed(1, 9, 1),
                transformed(2, 3, 0), transformed(0, 12, -1), transformed(2, 5, 0), transformed(0, 14, 1));

        List<String> out = FlowHops.perPartitionTransformed(batch).stream().map(FlowHopsTest::summary).toList();

        assertEquals(List.of(
                "0:14 inputs=4 dlq=1 <- out/0@10#0 out/0@10#1 dlq/0@12 out/0@14#0",
                "1:9 inputs=2 dlq=1 <- dlq/1@7 out/1@9#0",
                // Nothing to produce, yet the offset still goes into the transaction.
                "2:5 inputs=2 dlq=0 <- (pass-through)"), out);
    }

    /** A stand-in for the transactional producer: one result per message, in order. */
    private static Flow<ProducerMessage.Envelope<byte[], byte[], ConsumerMessage.PartitionOffset>,
            ProducerMessage.Results<byte[], byte[], ConsumerMessage.PartitionOffset>, NotUsed> fakeProducer() {
        return Flow.<ProducerMessage.Envelope<byte[], byte[], ConsumerMessage.PartitionOffset>>create().map(e -> {
            if (e instanceof ProducerMessage.MultiMessage<byte[], byte[], ConsumerMessage.PartitionOffset> m) {
                List<ProducerMessage.MultiResultPart<byte[], byte[]>> parts = new ArrayList<>();
                scala.jdk.javaapi.CollectionConverters.asJava(m.records()).forEach(r -> parts.add(new ProducerMessage.MultiResultPart<>(
                        new RecordMetadata(new TopicPartition(r.topic(), 0), 0, 0, 0, 0, 0), r)));
                return new ProducerMessage.MultiResult<>(scala.jdk.javaapi.CollectionConverters.asScala(parts).toList(), m.passThrough());
            }
            return new ProducerMessage.PassThroughResult<>(e.passThrough());
        });
    }

    private static final class Counts implements HopContext {
        final AtomicLong processed = new AtomicLong();
        final AtomicLong deadLettered = new AtomicLong();

        @Override public void ready() {
        }

        @Override public void controlledBy(Consumer.Control control) {
        }

        @Override public void processed(long records) {
            processed.addAndGet(records);
        }

        @Override public void deadLettered(long records) {
            deadLettered.addAndGet(records);
        }
    }

    @Test
    void producedTransformBatchesCountEachInputAsProcessedAndEachDeadLetterOnce() throws Exception {
        ActorSystem system = ActorSystem.create("flow-hops-test");
        try {
            List<FlowHops.Transformed> inputs = List.of(
                    transformed(0, 10, 2), transformed(1, 7, -1), transformed(0, 11, 0), transformed(1, 9, 1),
                    transformed(2, 3, 0), transformed(0, 12, -1), transformed(2, 5, 0), transformed(0, 14, 1));
            Counts counts = new Counts();
            var flow = FlowHops.produceCounting(fakeProducer(), counts);
            // The same flow twice: each materialization has its own queue of counts.
            for (int run = 1; run <= 2; run++) {
                List<ProducerMessage.Results<byte[], byte[], ConsumerMessage.PartitionOffset>> results = Source.from(List.of(
                                inputs.subList(0, 3), inputs.subList(3, 4), inputs.subList(4, 8)))
                        .mapConcat(FlowHops::perPartitionTransformed)
                        .via(flow)
                        .runWith(Sink.seq(), system).toCompletableFuture().get(10, TimeUnit.SECONDS);
                assertEquals(List.of("0:11", "1:7", "1:9", "2:5", "0:14"),
                        results.stream().map(r -> r.passThrough().key().partition() + ":" + r.passThrough().offset()).toList());
                assertEquals(8L * run, counts.processed.get());
                assertEquals(2L * run, counts.deadLettered.get());
            }
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void aProducerThatDropsAResultFailsTheStreamRatherThanMiscount() throws Exception {
        ActorSystem system = ActorSystem.create("flow-hops-test");
        try {
            Counts counts = new Counts();
            var dropsFirst = Flow.<ProducerMessage.Envelope<byte[], byte[], ConsumerMessage.PartitionOffset>>create().drop(1).via(fakeProducer());
            var done = Source.single(List.of(transformed(0, 1, 1), transformed(1, 1, 1)))
                    .mapConcat(FlowHops::perPartitionTransformed)
                    .via(FlowHops.produceCounting(dropsFirst, counts))
                    .runWith(Sink.seq(), system).toCompletableFuture();
            try {
                done.join();
                throw new AssertionError("expected a failure");
            } catch (CompletionException e) {
                assertTrue(e.getCause() instanceof IllegalStateException, e.toString());
            }
            assertEquals(0, counts.processed.get());
        } finally {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }
}
