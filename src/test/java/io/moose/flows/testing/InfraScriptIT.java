package io.moose.flows.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The shared services of {@link Infra} are up, stay up across repeated starts, and do what the flows need. */
class InfraScriptIT {

  private static final Duration WAIT = Duration.ofSeconds(60);

  private static Infra infra;

  @BeforeAll
  static void services() {
    infra = Infra.get();
  }

  @Test
  void upAgainLeavesRunningServicesAlone() {
    assumeTrue(infra.managedByScript(), "services come from the environment, not ops/infra");
    String before = infra.script("status");

    String first = infra.script("up");
    String second = infra.script("up");

    for (String service : List.of("kafka", "clickhouse", "postgres")) {
      assertTrue(first.contains(service + ": already running"), first);
      assertTrue(second.contains(service + ": already running"), second);
    }
    assertEquals(before, infra.script("status"), "the same processes run after up");
    assertEquals(3, before.lines().filter(line -> line.contains(" running ")).count(), before);
  }

  @Test
  void kafkaCommitsTransactionsOnASingleBroker() throws Exception {
    String topic = Infra.uniqueName("infra_it") + "_tx";
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, infra.kafkaBootstrap()))) {
      DescribeClusterResult cluster = admin.describeCluster();
      assertEquals(1, cluster.nodes().get().size());
      assertTrue(!cluster.clusterId().get().isBlank());
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();

      try (KafkaProducer<String, String> producer = transactionalProducer(topic + "-producer")) {
        producer.initTransactions();
        producer.beginTransaction();
        for (String value : List.of("a", "b", "c")) {
          producer.send(new ProducerRecord<>(topic, value));
        }
        producer.commitTransaction();
        producer.beginTransaction();
        producer.send(new ProducerRecord<>(topic, "aborted"));
        producer.abortTransaction();
      }

      assertEquals(List.of("a", "b", "c"), readCommitted(new TopicPartition(topic, 0)));
      admin.deleteTopics(List.of(topic)).all().get();
    }
  }

  @Test
  void clickhouseAnswersOverHttp() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String version = clickhouse(http, "SELECT version()").trim();
    assertTrue(version.matches("\\d+\\.\\d+.*"), version);

    String database = Infra.uniqueName("infra_it");
    clickhouse(http, "CREATE DATABASE " + database);
    try {
      assertEquals("1", clickhouse(http, "SELECT count() FROM system.databases WHERE name = '" + database + "'").trim());
    } finally {
      clickhouse(http, "DROP DATABASE " + database);
    }
  }

  @Test
  void postgresHasTheJournalSchema() throws Exception {
    try (Connection connection = DriverManager.getConnection(infra.postgresUrl(), infra.postgresUser(), infra.postgresPassword());
         Statement statement = connection.createStatement()) {
      try (ResultSet rows = statement.executeQuery("SELECT count(*) FROM event_journal")) {
        assertTrue(rows.next());
        assertTrue(rows.getLong(1) >= 0);
      }
      Set<String> tables = new HashSet<>();
      try (ResultSet rows = statement.executeQuery("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) {
        while (rows.next()) {
          tables.add(rows.getString(1));
        }
      }
      assertTrue(tables.containsAll(Set.of("event_journal", "event_tag", "snapshot", "durable_state")), tables.toString());
    }
  }

  private static KafkaProducer<String, String> transactionalProducer(String transactionalId) {
    Properties config = new Properties();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, infra.kafkaBootstrap());
    config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(config, new StringSerializer(), new StringSerializer());
  }

  /** Everything a read_committed consumer sees up to the partition's last stable offset. */
  private static List<String> readCommitted(TopicPartition partition) {
    Properties config = new Properties();
    config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, infra.kafkaBootstrap());
    config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    try (KafkaConsumer<String, String> consumer =
             new KafkaConsumer<>(config, new StringDeserializer(), new StringDeserializer())) {
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      long end = consumer.endOffsets(List.of(partition)).get(partition);
      List<String> values = new ArrayList<>();
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (consumer.position(partition) < end && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(500))) {
          values.add(record.value());
        }
      }
      return values;
    }
  }

  private static String clickhouse(HttpClient http, String sql) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(infra.clickhouseUrl() + "/"))
        .timeout(WAIT)
        .POST(HttpRequest.BodyPublishers.ofString(sql, StandardCharsets.UTF_8))
        .build();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode(), () -> sql + " -> " + response.body());
    return response.body();
  }
}
