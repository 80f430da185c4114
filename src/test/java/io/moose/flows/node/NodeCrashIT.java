package io.moose.flows.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.model.TopicNames;
import io.moose.flows.model.VersionRef;
import io.moose.flows.testing.ClusterProcesses;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.IngestClient;
import io.moose.flows.testing.TableCounts;
import io.moose.flows.testing.TestNode;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The RFC example on one node process that is SIGKILLed twice while records flow through every hop,
 * then restarted: the counts come out exactly as without the crashes, and no row is doubled.
 */
class NodeCrashIT {

    private static final int N = 20_000;
    private static final int M = 10_000;
    private static final int BATCH = 500;
    private static final Duration PACE = Duration.ofMillis(150);
    private static final Duration SETTLE = Duration.ofMinutes(4);

    @Test
    void killingTheNodeTwiceMidRunLosesAndDuplicatesNothing() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        System.out.println("NodeCrashIT seed " + seed);
        try (ClusterProcesses cluster = ClusterProcesses.create(TestNode.projectFile(), 0, "")) {
            cluster.up(1);
            TopicNames names = TopicNames.withNamespace(cluster.namespace);
            Thread producer = new Thread(() -> produce(names));
            producer.start();
            for (int crash = 0; crash < 2; crash++) {
                Thread.sleep(2_000 + random.nextInt(4_000));
                System.out.println(cluster.kill(1));
                System.out.println(cluster.start(1));
            }
            producer.join();

            try (ClickHouse clickhouse = TableCounts.connect(cluster.namespace)) {
                TableCounts tables = new TableCounts(clickhouse);
                Map<String, Long> expected = Map.of("UserActivity_0_0", (long) N, "ParsedActivity_0_0", (long) N,
                        "UserActivity_0_1", (long) N + M, "ParsedActivity_0_1", (long) N + M);
                TableCounts.await("exact counts after two crashes", SETTLE,
                        () -> expected.entrySet().stream().allMatch(e -> tables.rows(e.getKey()) == e.getValue()),
                        () -> expected.keySet().stream().map(t -> t + "=" + tables.rows(t)).toList() + " expected " + expected);
                for (String table : expected.keySet()) {
                    assertEquals(0, tables.duplicateCoordinates(table), table + " has a source coordinate twice");
                    assertEquals(0, tables.duplicateEvents(table), table + " has an event twice");
                }
            }
        }
    }

    /** Writes the records straight into the ingestion topics (transactionally), so only the node crashes. */
    private static void produce(TopicNames names) {
        ObjectMapper json = new ObjectMapper();
        Map<String, Object> props = Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, Infra.get().kafkaBootstrap(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "node-crash-it-" + names.ingestionTopic(new VersionRef("x", "0")),
                ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();
            int sent0 = 0;
            int sent1 = 0;
            while (sent0 < N || sent1 < M) {
                producer.beginTransaction();
                for (String version : List.of("0.0", "0.1")) {
                    int from = version.equals("0.0") ? sent0 : sent1;
                    int to = Math.min(version.equals("0.0") ? N : M, from + BATCH);
                    String topic = names.ingestionTopic(new VersionRef("UserActivity", version));
                    for (int i = from; i < to; i++) {
                        producer.send(new ProducerRecord<>(topic,
                                json.writeValueAsBytes(IngestClient.userActivity(version, version + "-" + i, i))));
                    }
                    if (version.equals("0.0")) {
                        sent0 = to;
                    } else {
                        sent1 = to;
                    }
                }
                producer.commitTransaction();
                Thread.sleep(PACE.toMillis());
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
