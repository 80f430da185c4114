package io.moose.flows.testing;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moose.flows.node.NodeConfig;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.ClickHouseSettings;
import io.moose.flows.clickhouse.TableSchema;
import io.moose.flows.flow.FlowRunner;
import io.moose.flows.hop.HopOwner;
import io.moose.flows.flow.FlowSettings;
import io.moose.flows.flow.Transforms;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.TopicNames;
import io.moose.flows.model.VersionRef;
import io.moose.flows.sync.TableSinkSettings;
import io.moose.flows.sync.TableSyncRunner;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The data plane of the RFC example project against the real Kafka and ClickHouse, isolated by a
 * fresh ClickHouse database and Kafka namespace: provisioning, producing, runners, counting.
 */
public final class DataPlaneFixture implements AutoCloseable {

    public static final VersionRef UA_0_0 = new VersionRef("UserActivity", "0.0");
    public static final VersionRef UA_0_1 = new VersionRef("UserActivity", "0.1");
    public static final VersionRef PA_0_0 = new VersionRef("ParsedActivity", "0.0");
    public static final VersionRef PA_0_1 = new VersionRef("ParsedActivity", "0.1");

    /** Fast backoff and short linger so failure tests recover within seconds; small batches so runs have many. */
    private static final String TEST_OVERRIDES = """
            akka.actor.provider = local
            # Tests share one JVM: terminating a fixture's actor system must not exit it.
            akka.coordinated-shutdown.exit-jvm = off
            moose-flows.sync { batch-size = 1000, linger = 200ms, status-interval = 500ms,
                               restart { min-backoff = 200ms, max-backoff = 3s } }
            moose-flows.flow { status-interval = 500ms, restart { min-backoff = 200ms, max-backoff = 3s } }
            """;

    public final Config config;
    public final ActorSystem<Void> system;
    public final ProjectDefinition project;
    public final TopicNames names;
    public final ClickHouse clickhouse;
    public final KafkaSettings kafka;
    public final FlowSettings flowSettings;
    public final TableSinkSettings sinkSettings;
    public final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    /** Why runs of this fixture's runners were fenced, in order. */
    public final List<String> fencings = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** The owner of every run this fixture's runners start: the fixture's actor system; fencings are recorded. */
    public final HopOwner owner;
    public final Admin admin;
    /** Every topic of this fixture starts with it and a dot; close deletes them. */
    private final String namespace;
    private final KafkaProducer<byte[], byte[]> producer;
    private final List<FlowRunner> flows = new ArrayList<>();
    private final List<TableSyncRunner> syncs = new ArrayList<>();

    public DataPlaneFixture() {
        this("");
    }

    public DataPlaneFixture(String extraConfig) {
        Infra infra = Infra.get();
        String database = Infra.uniqueName("dp");
        this.config = NodeConfig.load(ConfigFactory.parseString(extraConfig)
                .withFallback(ConfigFactory.parseString(TEST_OVERRIDES))
                .withFallback(ConfigFactory.parseMap(Map.of(
                        "moose-flows.kafka.bootstrap-servers", infra.kafkaBootstrap(),
                        "moose-flows.clickhouse.url", infra.clickhouseUrl(),
                        "moose-flows.clickhouse.database", database))));
        this.system = ActorSystem.create(Behaviors.empty(), database, config);
        this.owner = HopOwner.of(system, fencings::add);
        this.project = ProjectDefinitionLoader.load(Path.of("conf/project.conf"));
        this.namespace = Infra.uniqueName("t");
        this.names = TopicNames.withNamespace(namespace);
        this.kafka = KafkaSettings.from(config);
        this.flowSettings = FlowSettings.from(config);
        this.sinkSettings = TableSinkSettings.from(config);
        this.clickhouse = ClickHouse.connect(ClickHouseSettings.from(config));
        this.admin = Admin.create(kafka.commonClientProperties());
        Properties p = new Properties();
        p.putAll(kafka.commonClientProperties());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        // One batch in flight: a retried first batch can otherwise loop on OUT_OF_ORDER_SEQUENCE_NUMBER (KAFKA-14359).
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    public ModelVersion version(VersionRef ref) {
        return project.version(ref).orElseThrow();
    }

    /** Every topic and table of the project, as provisioning would create them. */
    public DataPlaneFixture provision() {
        Set<String> topics = new HashSet<>();
        project.allVersions().forEach(v -> topics.add(names.ingestionTopic(v.ref())));
        project.flows().forEach(f -> {
            topics.add(names.flowInput(f.id()));
            topics.add(names.flowOutput(f.id()));
            topics.add(names.deadLetter(f.id()));
        });
        createTopics(topics);
        join(clickhouse.createDatabaseIfMissing());
        project.allVersions().forEach(v ->
                join(clickhouse.execute(TableSchema.createStatement(clickhouse.qualified(names.table(v.ref())), v))));
        return this;
    }

    public void createTopics(Set<String> topics) {
        List<NewTopic> newTopics = topics.stream()
                .map(t -> new NewTopic(t, kafka.partitions(), kafka.replicationFactor())).toList();
        try {
            admin.createTopics(newTopics).all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("creating topics " + topics, e);
        }
    }

    public FlowRunner flowRunner(FlowDefinition flow) {
        FlowRunner runner = new FlowRunner(system, kafka, flowSettings, sinkSettings, project, flow, names, clickhouse, registry,
                Transforms.classPathOnly());
        flows.add(runner);
        return runner;
    }

    public TableSyncRunner tableSync(VersionRef version) {
        TableSyncRunner runner = new TableSyncRunner(system, kafka, sinkSettings, version(version), names, clickhouse, registry);
        syncs.add(runner);
        return runner;
    }

    /** Starts a runner for every flow and every model version's table sync of the project. */
    public void startEverything() {
        project.flows().forEach(f -> flowRunner(f).start(owner));
        project.allVersions().forEach(v -> tableSync(v.ref()).start(owner));
    }

    public List<FlowRunner> flows() {
        return flows;
    }

    public List<TableSyncRunner> syncs() {
        return syncs;
    }

    /** A valid UserActivity record of the given version; {@code i} makes it unique. */
    public static byte[] userActivity(VersionRef version, int i) {
        String region = version.version().equals("0.1") ? ",\"region\":\"r" + (i % 5) + "\"" : "";
        return ("{\"eventId\":\"" + version.version() + "-" + i + "\",\"timestamp\":\"2024-01-31T12:00:" + String.format("%02d", i % 60)
                + "Z\",\"userId\":\"u" + (i % 50) + "\",\"activity\":\"click:button-" + i + "@/page" + (i % 7) + "\"" + region + "}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Produces and waits for every acknowledgement: flush alone does not report failed sends, and a
     * test that expects exact counts must know its input really is in Kafka.
     */
    public void produce(String topic, List<ProducerRecord<byte[], byte[]>> records) {
        List<java.util.concurrent.Future<?>> acks = new ArrayList<>(records.size());
        for (ProducerRecord<byte[], byte[]> r : records) {
            acks.add(producer.send(r));
        }
        producer.flush();
        for (var ack : acks) {
            try {
                ack.get(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException("Kafka did not accept a record for " + topic + "; the test input is incomplete", e);
            }
        }
    }

    /** Produces UserActivity records {@code from} (inclusive) to {@code to} (exclusive) into the version's ingestion topic. */
    public void produceUserActivity(VersionRef version, int from, int to) {
        String topic = names.ingestionTopic(version);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (int i = from; i < to; i++) {
            records.add(new ProducerRecord<>(topic, userActivity(version, i)));
        }
        produce(topic, records);
    }

    public long count(VersionRef version) {
        return Long.parseLong(join(clickhouse.query("SELECT count() FROM " + clickhouse.qualified(names.table(version)))).get(0).get(0));
    }

    /** Rows whose source coordinates (topic, partition, offset) appear more than once. */
    public long duplicateCoordinates(VersionRef version) {
        return Long.parseLong(join(clickhouse.query("SELECT count() - uniqExact(_src_topic, _src_partition, _src_offset) FROM "
                + clickhouse.qualified(names.table(version)))).get(0).get(0));
    }

    /** Every committed record of a topic, read from the beginning until {@code expected} arrived or the timeout. */
    public List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int expected, Duration timeout) {
        Properties p = new Properties();
        p.putAll(kafka.commonClientProperties());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(i -> new TopicPartition(topic, i.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Instant deadline = Instant.now().plus(timeout);
            while (out.size() < expected && Instant.now().isBefore(deadline)) {
                consumer.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    /** Waits until the condition holds, polling; fails with the description and last value on timeout. */
    public static void await(String what, Duration timeout, BooleanSupplier condition, Supplier<String> state) {
        TableCounts.await(what, timeout, condition, state);
    }

    public static <T> T join(java.util.concurrent.CompletionStage<T> stage) {
        try {
            return stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        List<java.util.concurrent.CompletableFuture<?>> stopping = new ArrayList<>();
        flows.forEach(f -> stopping.add(f.stop().toCompletableFuture()));
        syncs.forEach(s -> stopping.add(s.stop().toCompletableFuture()));
        try {
            java.util.concurrent.CompletableFuture.allOf(stopping.toArray(java.util.concurrent.CompletableFuture[]::new))
                    .get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            // Closing anyway: the database and namespace are this fixture's alone.
        }
        producer.close();
        try {
            // The bench writes millions of records per run: 69 GB of left-over topics once filled the
            // disk and made a broker restart outlast its readiness timeout.
            Set<String> own = admin.listTopics().names().get(30, TimeUnit.SECONDS).stream()
                    .filter(topic -> topic.startsWith(namespace + ".")).collect(java.util.stream.Collectors.toSet());
            admin.deleteTopics(own).all().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            // Kafka may be the thing a test stopped; the namespace is unique anyway.
        }
        try {
            join(clickhouse.execute("DROP DATABASE IF EXISTS " + ClickHouse.quote(clickhouse.database())));
        } catch (RuntimeException e) {
            // ClickHouse may be the thing a test stopped; the database name is unique anyway.
        }
        clickhouse.close();
        admin.close();
        system.terminate();
    }
}
