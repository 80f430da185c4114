package io.moose.flows.ingest;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moose.flows.node.NodeConfig;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.kafka.TopicProvisioner;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.TopicNames;
import io.moose.flows.model.VersionRef;
import io.moose.flows.testing.Infra;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IngestIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ProjectDefinition EXAMPLE = ProjectDefinitionLoader.load(Path.of("conf/project.conf"));
    private static final VersionRef LATEST = new VersionRef("UserActivity", "0.1");
    private static final String API_KEY = "test-key";
    private static final int RECORDS = 10_000;
    private static final int PER_REQUEST = 100;
    private static final int CONCURRENT_CLIENTS = 4;
    private static final long MAX_BODY = 256 * 1024;
    private static final Duration WAIT = Duration.ofSeconds(60);

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static TopicNames names;
    private static Config config;
    private static ActorSystem<Void> system;
    private static IngestServer server;

    @BeforeAll
    static void start() throws Exception {
        Infra infra = Infra.get();
        names = TopicNames.withNamespace(Infra.uniqueName("ingest"));
        config = testConfig(infra.kafkaBootstrap(), "15s");
        try (Admin admin = Admin.create(KafkaSettings.from(config).commonClientProperties())) {
            new TopicProvisioner(admin, KafkaSettings.from(config)).provision(TopicProvisioner.topicsOf(EXAMPLE, names));
        }
        system = ActorSystem.create(Behaviors.empty(), "ingest-it", config);
        server = IngestServer.start(system, config, EXAMPLE, names, new SimpleMeterRegistry()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    @AfterAll
    static void stop() throws Exception {
        if (server != null) {
            server.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        if (system != null) {
            system.terminate();
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
    }

    private static Config testConfig(String bootstrap, String produceTimeout) {
        return NodeConfig.load(ConfigFactory.parseString("""
                akka.actor.provider = local
                akka.coordinated-shutdown.exit-jvm = off
                moose-flows.node.remote-port = 0
                moose-flows.ingest.interface = "127.0.0.1"
                moose-flows.ingest.port = 0
                moose-flows.ingest.api-keys = ["%s"]
                moose-flows.ingest.max-body-size = %d
                moose-flows.ingest.produce-timeout = %s
                """.formatted(API_KEY, MAX_BODY, produceTimeout))
                .withFallback(ConfigFactory.parseMap(Map.of("moose-flows.kafka.bootstrap-servers", bootstrap))));
    }

    @Test
    void tenThousandRecordsArriveExactlyOnceAndInOrderWithinEachPartition() throws Exception {
        String topic = names.ingestionTopic(LATEST);
        int before = committed(topic).size();
        long started = System.nanoTime();
        for (int first = 0; first < RECORDS; first += PER_REQUEST) {
            HttpResponse<String> reply = post("/ingest/UserActivity/0.1", batch("seq", first, PER_REQUEST), API_KEY);
            assertEquals(200, reply.statusCode(), reply.body());
            assertEquals(JSON.readTree("{\"accepted\":100,\"model\":\"UserActivity\",\"version\":\"0.1\"}"), JSON.readTree(reply.body()));
        }
        report("one client", RECORDS, System.nanoTime() - started);

        List<ConsumerRecord<byte[], byte[]>> records = committed(topic);
        List<ConsumerRecord<byte[], byte[]>> ours = records.stream().filter(r -> eventId(r).startsWith("seq-")).toList();
        assertEquals(RECORDS, ours.size(), "records before this test: " + before);
        assertEquals(RECORDS, ours.stream().map(IngestIT::eventId).collect(Collectors.toSet()).size(), "no duplicates");
        Map<Integer, Long> lastPerPartition = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : ours) {
            long seq = Long.parseLong(eventId(r).substring("seq-".length()));
            Long last = lastPerPartition.put(r.partition(), seq);
            assertTrue(last == null || last < seq, "partition " + r.partition() + ": " + seq + " after " + last);
            assertEquals(null, r.key());
        }
        JsonNode sample = JSON.readTree(ours.get(0).value());
        assertEquals(Set.of("eventId", "timestamp", "userId", "activity"), fieldNames(sample), "the record as sent, nothing added");
    }

    @Test
    void concurrentClientsAreAllAcceptedAndThroughputIsPrinted() throws Exception {
        String topic = names.ingestionTopic(LATEST);
        long started = System.nanoTime();
        List<CompletableFuture<Void>> clients = new ArrayList<>();
        int perClient = RECORDS / CONCURRENT_CLIENTS;
        for (int c = 0; c < CONCURRENT_CLIENTS; c++) {
            int client = c;
            clients.add(CompletableFuture.runAsync(() -> {
                for (int first = 0; first < perClient; first += PER_REQUEST) {
                    HttpResponse<String> reply = post("/ingest/UserActivity", batch("par" + client + "-", first, PER_REQUEST), API_KEY);
                    assertEquals(200, reply.statusCode(), reply.body());
                }
            }));
        }
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).get(WAIT.toSeconds() * 2, TimeUnit.SECONDS);
        report(CONCURRENT_CLIENTS + " clients", RECORDS, System.nanoTime() - started);
        long ours = committed(topic).stream().filter(r -> eventId(r).startsWith("par")).count();
        assertEquals(RECORDS, ours);
    }

    @Test
    void everyBadRequestIsRejectedWithWhatIsWrongAndWritesNothing() throws Exception {
        String topic = names.ingestionTopic(LATEST);
        int before = committed(topic).size();
        String path = "/ingest/UserActivity/0.1";

        JsonNode badJson = expect(400, post(path, "[{\"eventId\": \"a\",\n \"userId\" 7}]", API_KEY));
        assertTrue(badJson.get("error").asText().startsWith("invalid JSON"), badJson.toString());
        assertEquals(2, badJson.get("line").asInt(), badJson.toString());
        assertTrue(badJson.get("column").asInt() > 0, badJson.toString());

        expectProblem(post(path, batchWith(1, "timestamp", "\"yesterday\""), API_KEY), 1, "timestamp", "expected an ISO-8601 date-time");
        expectProblem(post(path, batchWith(2, "userId", null), API_KEY), 2, "userId", "missing");
        expectProblem(post(path, batchWith(3, "colour", "\"red\""), API_KEY), 3, "colour", "unknown field");
        expectProblem(post(path, batchWith(4, "activity", "null"), API_KEY), 4, "activity", "null is not allowed");
        expectProblem(post(path, "{\"eventId\": 5, \"timestamp\": 0, \"userId\": \"u\", \"activity\": \"a\"}", API_KEY),
                0, "eventId", "expected a string");

        JsonNode unknownModel = expect(404, post("/ingest/Nope/0.1", batch("x", 0, 1), API_KEY));
        assertEquals(JSON.readTree("[\"0.0\",\"0.1\"]"), unknownModel.get("knownModels").get("UserActivity"), unknownModel.toString());
        JsonNode unknownVersion = expect(404, post("/ingest/UserActivity/0.9", batch("x", 0, 1), API_KEY));
        assertEquals(JSON.readTree("[\"0.0\",\"0.1\"]"), unknownVersion.get("knownVersions"), unknownVersion.toString());

        String oversized = batch("big", 0, (int) (MAX_BODY / 100));
        assertTrue(oversized.length() > MAX_BODY);
        expect(413, post(path, oversized, API_KEY));

        expect(401, post(path, batch("x", 0, 1), "wrong-key"));
        expect(401, post(path, batch("x", 0, 1), null));

        assertEquals(before, committed(topic).size(), "a rejected request writes nothing");
    }

    @Test
    void kafkaThatCannotTakeTheWriteGives503AndNothingIsWritten() throws Exception {
        // A server whose Kafka is a closed port: the write cannot be taken within the produce timeout.
        Config unreachable = testConfig("127.0.0.1:1", "2s");
        IngestServer cut = IngestServer.start(system, unreachable, EXAMPLE, names, new SimpleMeterRegistry()).toCompletableFuture().get(30, TimeUnit.SECONDS);
        try {
            HttpResponse<String> reply = HTTP.send(request(cut.port(), "/ingest/UserActivity/0.1", batch("down", 0, 10), API_KEY),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode body = expect(503, reply);
            assertTrue(body.get("error").asText().contains("produce-timeout"), body.toString());
        } finally {
            cut.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        assertEquals(0, committed(names.ingestionTopic(LATEST)).stream().filter(r -> eventId(r).startsWith("down-")).count());
    }

    @Test
    void aRecordLargerThanKafkaTakesGives413NamingItAndNothingIsWritten() throws Exception {
        Config smallRecords = ConfigFactory.parseString("moose-flows.kafka.client-properties { \"max.request.size\" = 2048 }")
                .withFallback(testConfig(Infra.get().kafkaBootstrap(), "10s"));
        IngestServer small = IngestServer.start(system, smallRecords, EXAMPLE, names, new SimpleMeterRegistry()).toCompletableFuture().get(30, TimeUnit.SECONDS);
        try {
            String huge = "[" + record("huge-0") + ",{\"eventId\":\"huge-1\",\"timestamp\":0,\"userId\":\"u\",\"region\":\"eu\","
                    + "\"activity\":\"" + "x".repeat(3_000) + "\"}]";
            JsonNode body = expect(413, HTTP.send(request(small.port(), "/ingest/UserActivity/0.1", huge, API_KEY),
                    HttpResponse.BodyHandlers.ofString()));
            assertTrue(body.get("error").asText().startsWith("record 1 is"), body.toString());
        } finally {
            small.stop().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        assertEquals(0, committed(names.ingestionTopic(LATEST)).stream().filter(r -> eventId(r).startsWith("huge-")).count());
    }

    @Test
    void aSwappedDefinitionIsUsedByTheNextRequest() throws Exception {
        ProjectDefinition onlyParsed = new ProjectDefinition(
                EXAMPLE.models().stream().filter(m -> m.name().equals("ParsedActivity")).toList(), List.of());
        server.setDefinition(onlyParsed);
        try {
            expect(404, post("/ingest/UserActivity/0.1", batch("swap", 0, 1), API_KEY));
        } finally {
            server.setDefinition(EXAMPLE);
        }
        expect(200, post("/ingest/UserActivity/0.1", batch("swap", 0, 1), API_KEY));
    }

    private static void expectProblem(HttpResponse<String> reply, int index, String field, String problem) throws Exception {
        JsonNode body = expect(400, reply);
        JsonNode first = body.get("problems").get(0);
        assertEquals(index, first.get("index").asInt(), body.toString());
        assertEquals(field, first.get("field").asText(), body.toString());
        assertTrue(first.get("problem").asText().contains(problem), body.toString());
        assertEquals(1, body.get("problemCount").asInt(), body.toString());
    }

    private static JsonNode expect(int status, HttpResponse<String> reply) throws Exception {
        assertEquals(status, reply.statusCode(), reply.body());
        return JSON.readTree(reply.body());
    }

    private static void report(String clients, int records, long nanos) {
        double seconds = nanos / 1e9;
        System.out.printf("INGEST THROUGHPUT (%s, %d records per request, %d cores): %d records in %.2f s = %.0f records/s%n",
                clients, PER_REQUEST, Runtime.getRuntime().availableProcessors(), records, seconds, records / seconds);
    }

    /** Valid records; record i has eventId prefix + (first + i), zero-padded so ordering is numeric. */
    private static String batch(String prefix, int first, int count) {
        StringBuilder body = new StringBuilder("[");
        for (int i = 0; i < count; i++) {
            if (i > 0) {
                body.append(',');
            }
            body.append(record(prefix + (prefix.endsWith("-") ? "" : "-") + String.format("%08d", first + i)));
        }
        return body.append(']').toString();
    }

    private static String record(String eventId) {
        return "{\"eventId\":\"" + eventId + "\",\"timestamp\":\"2024-01-31T12:00:00Z\",\"userId\":\"user-1\","
                + "\"activity\":\"click:signup-button@/home\"}";
    }

    /** Ten valid records, except that record {@code index} has {@code field} set to {@code json} (or removed when null). */
    private static String batchWith(int index, String field, String json) throws Exception {
        var records = (com.fasterxml.jackson.databind.node.ArrayNode) JSON.readTree(batch("bad", 0, 10));
        var record = (com.fasterxml.jackson.databind.node.ObjectNode) records.get(index);
        if (json == null) {
            record.remove(field);
        } else {
            record.set(field, JSON.readTree(json));
        }
        return JSON.writeValueAsString(records);
    }

    private static HttpResponse<String> post(String path, String body, String apiKey) {
        try {
            return HTTP.send(request(server.port(), path, body, apiKey), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new AssertionError("POST " + path + " failed", e);
        }
    }

    private static HttpRequest request(int port, String path, String body, String apiKey) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(WAIT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (apiKey != null) {
            request.header("Authorization", "Bearer " + apiKey);
        }
        return request.build();
    }

    private static String eventId(ConsumerRecord<byte[], byte[]> record) {
        try {
            return JSON.readTree(record.value()).get("eventId").asText();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new java.util.HashSet<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }

    /** Every committed record of the topic, read at read_committed from the start to the last stable offset. */
    private static List<ConsumerRecord<byte[], byte[]>> committed(String topic) {
        Map<String, Object> props = new HashMap<>(KafkaSettings.from(config).commonClientProperties());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, WAIT).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, WAIT);
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p, WAIT) < end.get(p))) {
                assertTrue(System.nanoTime() < deadline, "could not read " + topic + " to its end within " + WAIT);
                consumer.poll(Duration.ofMillis(200)).forEach(records::add);
            }
            return records;
        }
    }
}
