package io.moose.flows.sync;

import akka.stream.KillSwitches;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import io.moose.flows.kafka.KafkaClients;
import io.moose.flows.testing.DataPlaneFixture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PolledBatchesIT {

    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    /**
     * A failed or aborted sink run cancels its stream, not {@code stop()}: on an idle topic the poll
     * loop used to go on for ever with its consumer open (one leaked thread and connection per
     * restart, found when a test's deleted topics made the leaked consumers log millions of warnings).
     */
    @Test
    void aCancelledRunOverAnIdleTopicClosesItsConsumer() throws Exception {
        try (DataPlaneFixture dp = new DataPlaneFixture()) {
            String topic = dp.names.ingestionTopic(DataPlaneFixture.UA_0_0);
            dp.createTopics(Set.of(topic));
            PolledBatches polled = new PolledBatches(new KafkaClients(dp.system, dp.kafka).consumer("polled-batches-it"),
                    Map.of(new TopicPartition(topic, 0), 0L), dp.sinkSettings.batchSize(), dp.sinkSettings.linger(),
                    dp.sinkSettings.pollTimeout(), dp.sinkSettings.maxPollRecords(), new AtomicInteger(), dp.sinkSettings.minInsertInterval());
            UniqueKillSwitch killSwitch = polled.source()
                    .viaMat(KillSwitches.single(), Keep.right())
                    .to(Sink.ignore())
                    .run(dp.system);
            // a few polls of nothing: the run is idle, as a sink on a quiet topic is
            Thread.sleep(dp.sinkSettings.pollTimeout().multipliedBy(3).toMillis());

            killSwitch.abort(new IllegalStateException("the run failed"));

            assertTrue(closedWithin(polled, CLOSE_TIMEOUT), "the cancelled run's consumer was not closed within " + CLOSE_TIMEOUT);
        }
    }

    /**
     * With a linger far longer than the test, a caught-up reader hands over what it polled at once
     * while nothing is unfinished downstream, and gathers while an earlier batch is unfinished.
     */
    @Test
    void aCaughtUpReaderEmitsWithoutLingeringUnlessAnEarlierBatchIsUnfinished() throws Exception {
        try (DataPlaneFixture dp = new DataPlaneFixture()) {
            String topic = dp.names.ingestionTopic(DataPlaneFixture.UA_0_0);
            dp.createTopics(Set.of(topic));
            AtomicInteger unfinished = new AtomicInteger();
            Map<TopicPartition, Long> start = new java.util.HashMap<>();
            for (int p = 0; p < dp.kafka.partitions(); p++) {
                start.put(new TopicPartition(topic, p), 0L);
            }
            PolledBatches polled = new PolledBatches(new KafkaClients(dp.system, dp.kafka).consumer("polled-batches-it"),
                    start, 1_000, Duration.ofMinutes(10), dp.sinkSettings.pollTimeout(), dp.sinkSettings.maxPollRecords(), unfinished, dp.sinkSettings.minInsertInterval());
            BlockingQueue<List<ConsumerRecord<byte[], byte[]>>> emitted = new LinkedBlockingQueue<>();
            UniqueKillSwitch killSwitch = polled.source()
                    .viaMat(KillSwitches.single(), Keep.right())
                    .to(Sink.foreach(emitted::add))
                    .run(dp.system);
            try {
                produceToOnePartition(dp, topic, 0, 5);
                List<ConsumerRecord<byte[], byte[]>> first = gather(emitted, 5);
                assertEquals(5, first.size(), "handed over without waiting out the 10-minute linger");
                assertEquals(1, unfinished.get(), "each emitted batch counts as unfinished until the sink releases it");

                produceToOnePartition(dp, topic, 5, 12);
                // Give the reader time to poll them: while the first batch is unfinished, it keeps them.
                Thread.sleep(2_000);
                assertNull(emitted.poll(), "nothing handed over while an earlier batch is unfinished");
                unfinished.decrementAndGet();
                List<ConsumerRecord<byte[], byte[]>> second = emitted.poll(30, TimeUnit.SECONDS);
                assertNotNull(second, "handed over once the earlier batch finished");
                assertEquals(7, second.size(), "all gathered meanwhile, in one batch");
            } finally {
                killSwitch.shutdown();
            }
        }
    }

    /** One producer batch into partition 0: one poll returns all of it. */
    private static void produceToOnePartition(DataPlaneFixture dp, String topic, int from, int to) {
        List<org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]>> records = new java.util.ArrayList<>();
        for (int i = from; i < to; i++) {
            records.add(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, 0, null,
                    DataPlaneFixture.userActivity(DataPlaneFixture.UA_0_0, i)));
        }
        dp.produce(topic, records);
    }

    /** Batches until {@code records} records came (a produce may land in two polls). */
    private static List<ConsumerRecord<byte[], byte[]>> gather(BlockingQueue<List<ConsumerRecord<byte[], byte[]>>> emitted, int records)
            throws InterruptedException {
        List<ConsumerRecord<byte[], byte[]>> all = new java.util.ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (all.size() < records && System.nanoTime() < deadline) {
            List<ConsumerRecord<byte[], byte[]>> batch = emitted.poll(100, TimeUnit.MILLISECONDS);
            if (batch != null) {
                all.addAll(batch);
            }
        }
        return all;
    }

    private static boolean closedWithin(PolledBatches polled, Duration timeout) {
        try {
            polled.isShutdown().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
