package io.moose.flows.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.ClickHouseSettings;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.kafka.TopicProvisioner;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.TopicNames;
import io.moose.flows.model.VersionRef;
import io.moose.flows.testing.Infra;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProvisioningIT {

    private static final ProjectDefinition EXAMPLE = ProjectDefinitionLoader.load(Path.of("conf/project.conf"));
    /** 4 model versions, 4 flows with input, output and DLQ each. */
    private static final int EXAMPLE_TOPICS = 4 + 4 * 3;

    private final Infra infra = Infra.get();
    private final Config config = NodeConfig.load(ConfigFactory.parseMap(Map.of(
            "moose-flows.kafka.bootstrap-servers", infra.kafkaBootstrap(),
            "moose-flows.clickhouse.url", infra.clickhouseUrl())));
    private final KafkaSettings kafka = KafkaSettings.from(config);
    private final ClickHouseSettings clickhouse = ClickHouseSettings.from(config).withDatabase(Infra.uniqueName("t"));
    private final TopicNames names = TopicNames.withNamespace(Infra.uniqueName("prov"));

    @Test
    void provisioningTwiceCreatesEveryTopicAndTableOnce() throws Exception {
        Provisioning.Report first = Provisioning.run(kafka, clickhouse, EXAMPLE, names).requireOk();
        assertEquals(EXAMPLE_TOPICS, first.createdTopics().size(), first.summary());
        assertEquals(List.of(), first.existingTopics());
        assertEquals(Set.of("UserActivity_0_0", "UserActivity_0_1", "ParsedActivity_0_0", "ParsedActivity_0_1"),
                Set.copyOf(first.createdTables()));

        Provisioning.Report second = Provisioning.run(kafka, clickhouse, EXAMPLE, names).requireOk();
        assertEquals(List.of(), second.createdTopics(), second.summary());
        assertEquals(Set.copyOf(first.createdTopics()), Set.copyOf(second.existingTopics()));
        assertEquals(List.of(), second.createdTables());
        assertEquals(Set.copyOf(first.createdTables()), Set.copyOf(second.existingTables()));
        assertEquals(List.of(), second.warnings());

        try (Admin admin = Admin.create(kafka.commonClientProperties())) {
            List<String> expected = TopicProvisioner.topicsOf(EXAMPLE, names);
            assertTrue(expected.contains(names.ingestionTopic(new VersionRef("UserActivity", "0.1"))));
            assertTrue(expected.contains(names.flowOutput("UserActivity_0_1_ParsedActivity_0_1")));
            Map<String, TopicDescription> topics = admin.describeTopics(expected).all().get(30, TimeUnit.SECONDS);
            topics.values().forEach(t -> assertEquals(kafka.partitions(), t.partitions().size(), t.name()));
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, expected.get(0));
            var topicConfig = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource);
            assertEquals(Long.toString(kafka.retention().toMillis()), topicConfig.get("retention.ms").value());
            assertEquals(Integer.toString(kafka.minInsyncReplicas()), topicConfig.get("min.insync.replicas").value());
        }

        try (ClickHouse ch = ClickHouse.connect(clickhouse)) {
            List<List<String>> columns = ch.query("SELECT name, type FROM system.columns WHERE database = "
                    + ClickHouse.literal(clickhouse.database()) + " AND table = 'UserActivity_0_1'")
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals(Set.of(
                    List.of("eventId", "String"), List.of("timestamp", "DateTime('UTC')"), List.of("userId", "String"),
                    List.of("activity", "String"), List.of("region", "String"),
                    List.of("_src_topic", "String"), List.of("_src_partition", "Int32"), List.of("_src_offset", "Int64")),
                    Set.copyOf(columns));
            List<List<String>> engine = ch.query("SELECT engine FROM system.tables WHERE database = "
                    + ClickHouse.literal(clickhouse.database()) + " AND name = 'UserActivity_0_1'")
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals(List.of(List.of("MergeTree")), engine);
        }
    }

    @Test
    void anExistingTableWithADifferentColumnTypeIsReportedAndNotTouched() throws Exception {
        try (ClickHouse ch = ClickHouse.connect(clickhouse)) {
            ch.createDatabaseIfMissing().toCompletableFuture().get(30, TimeUnit.SECONDS);
            ch.execute("CREATE TABLE " + ch.qualified("UserActivity_0_0") + " (eventId String, timestamp DateTime('UTC'),"
                    + " userId Int64, activity String, _src_topic String, _src_partition Int32, _src_offset Int64)"
                    + " ENGINE = MergeTree() ORDER BY (timestamp, eventId)").toCompletableFuture().get(30, TimeUnit.SECONDS);
            ch.execute("INSERT INTO " + ch.qualified("UserActivity_0_0")
                    + " VALUES ('e1', '2024-01-31 12:00:00', 42, 'click', 't', 0, 0)").toCompletableFuture().get(30, TimeUnit.SECONDS);

            Provisioning.Report report = Provisioning.run(kafka, clickhouse, EXAMPLE, names);

            assertFalse(report.ok());
            String table = ch.qualified("UserActivity_0_0");
            assertEquals(List.of("table " + table + ": column userId has type Int64, expected String; the table is left"
                    + " as it is: migrate it to a new model version, or fix or drop it by hand"), report.problems());
            assertTrue(report.existingTables().contains("UserActivity_0_0"));
            assertEquals(3, report.createdTables().size(), "the other tables are still created");
            List<List<String>> rows = ch.query("SELECT eventId, userId FROM " + table).toCompletableFuture().get(30, TimeUnit.SECONDS);
            assertEquals(List.of(List.of("e1", "42")), rows);
            Set<String> types = ch.query("SELECT type FROM system.columns WHERE database = " + ClickHouse.literal(clickhouse.database())
                    + " AND table = 'UserActivity_0_0' AND name = 'userId'").toCompletableFuture().get(30, TimeUnit.SECONDS)
                    .stream().map(r -> r.get(0)).collect(Collectors.toCollection(TreeSet::new));
            assertEquals(Set.of("Int64"), types);
        }
    }
}
