package io.moose.flows.ingest;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.model.TopicNames;
import io.moose.flows.node.NodeConfig;
import io.moose.flows.testing.Infra;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ingest path without a transaction, against the real broker: a request's records are one
 * batch to one partition, visible all together or not at all.
 */
class SingleBatchIngestIT {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static Config config;
    private static Admin admin;

    @BeforeAll
    static void start() {
        config = NodeConfig.load(ConfigFactory.parseString("""
                akka.actor.provider = local
                moose-flows.node.remote-port = 0
                moose-flows.ingest.produce-timeout = 6s
                """).withFallback(ConfigFactory.parseMap(Map.of("moose-flows.kafka.bootstrap-servers", Infra.get().kafkaBootstrap()))));
        admin = Admin.create(KafkaSettings.from(config).commonClientProperties());
    }

    @AfterAll
    static void stop() {
        if (admin != null) {
            admin.close();
        }
    }

    @Test
    void aRequestHeldHalfAppendedShowsNothingAndThenAllOfItInOneBatchWithoutATransaction() throws Exception {
        String topic = topic("held", Map.of());
        CountDownLatch appending = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (TransactionalWriter writer = writer()) {
            writer.singleBatch().afterFirstAppend = () -> {
                appending.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            CompletableFuture<Void> written = writer.write(topic, values("held", 50)).toCompletableFuture();
            assertTrue(appending.await(30, TimeUnit.SECONDS), "the writer never appended");
            // The first record sits in the producer while the rest are not appended: a producer that sent
            // it now would make it visible alone. Give the sender a second to do so, then look.
            Thread.sleep(1_000);
            assertEquals(0, committed(topic).size(), "nothing of a half-appended request is visible");
            assertEquals(0L, endOffsetSum(topic), "nothing of a half-appended request reached Kafka");
            release.countDown();
            written.get(30, TimeUnit.SECONDS);
        }
        List<ConsumerRecord<byte[], byte[]>> records = committed(topic);
        assertEquals(50, records.size());
        assertEquals(1, records.stream().map(ConsumerRecord::partition).distinct().count(), "one partition");
        for (int i = 0; i < 50; i++) {
            assertEquals("held-" + i, new String(records.get(i).value(), StandardCharsets.UTF_8), "in request order");
        }
        assertEquals(50L, endOffsetSum(topic), "no transaction marker: the request took the single-batch path");
    }

    @Test
    void aRequestLargerThanTheTopicTakesInOneMessageGoesThroughATransactionWhole() throws Exception {
        // Each record fits, all together do not: as one batch the broker would answer MESSAGE_TOO_LARGE
        // and the producer would split it into batches that succeed or fail separately.
        String topic = topic("large", Map.of("max.message.bytes", "2048"));
        boolean largeWritten;
        try (TransactionalWriter writer = writer()) {
            try {
                writer.write(topic, values("large", 40)).toCompletableFuture().get(30, TimeUnit.SECONDS);
                largeWritten = true;
            } catch (ExecutionException e) {
                // The transactional producer of kafka-clients 3.0 does not get a batch split past the
                // broker either; the transaction is aborted, which is the contract's other outcome.
                assertInstanceOf(TransactionalWriter.Unavailable.class, e.getCause());
                largeWritten = false;
            }
            writer.write(topic, values("small", 2)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        List<ConsumerRecord<byte[], byte[]>> records = committed(topic);
        long large = records.stream().filter(r -> new String(r.value(), StandardCharsets.UTF_8).startsWith("large-")).count();
        assertEquals(largeWritten ? 40 : 0, large, "all of the large request or none, as its answer says");
        assertEquals(2, records.size() - large);
        assertTrue(endOffsetSum(topic) > records.size(), "the large request was a transaction (it left a marker)");
    }

    private static TransactionalWriter writer() {
        IngestSettings settings = IngestSettings.from(config);
        TopicNames names = TopicNames.withNamespace(Infra.uniqueName("single_batch"));
        return new TransactionalWriter(KafkaSettings.from(config), settings, names);
    }

    private static String topic(String name, Map<String, String> configs) throws Exception {
        String topic = Infra.uniqueName("single_batch_" + name);
        admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1).configs(configs))).all().get(30, TimeUnit.SECONDS);
        return topic;
    }

    private static List<byte[]> values(String prefix, int count) {
        List<byte[]> values = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            values.add((prefix + "-" + i).getBytes(StandardCharsets.UTF_8));
        }
        if (prefix.equals("large")) {
            values.replaceAll(v -> (new String(v, StandardCharsets.UTF_8) + "x".repeat(100)).getBytes(StandardCharsets.UTF_8));
        }
        return values;
    }

    private static long endOffsetSum(String topic) throws Exception {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer("read_uncommitted")) {
            List<TopicPartition> partitions = partitions(consumer, topic);
            return consumer.endOffsets(partitions, WAIT).values().stream().mapToLong(Long::longValue).sum();
        }
    }

    private static List<TopicPartition> partitions(KafkaConsumer<byte[], byte[]> consumer, String topic) {
        return consumer.partitionsFor(topic, WAIT).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String isolation) {
        Map<String, Object> props = new HashMap<>(KafkaSettings.from(config).commonClientProperties());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    /** Every record a read_committed reader gets, from the start to the last stable offset. */
    private static List<ConsumerRecord<byte[], byte[]>> committed(String topic) {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer("read_committed")) {
            List<TopicPartition> partitions = partitions(consumer, topic);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, WAIT);
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p, WAIT) < end.get(p))) {
                assertFalse(System.nanoTime() > deadline, "could not read " + topic + " to its end within " + WAIT);
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            return records;
        }
    }
}
