package io.moose.flows.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.testing.IngestClient;
import io.moose.flows.testing.RandomRecords;
import io.moose.flows.testing.TestNode;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzing POST /ingest on a real node with generated bad bodies (at least 200 a run, seeded, the
 * seed printed; {@code -Dmoose.test.seed=N} replays one, {@code -Dmoose.test.fuzz-bodies=N} sizes
 * it): random bytes, truncated and garbage-trailed JSON, bytes that are not UTF-8, records with one
 * bad field among good ones, nesting past the limit, JSON's near misses (NaN, comments, single quotes,
 * duplicate keys), bodies over the size limit, non-JSON Content-Types, unknown models. Each is
 * answered 4xx within 2 s, the ingestion topic's offsets do not move (nothing written, not even an
 * aborted transaction), the node stays alive, and good requests before and after are stored.
 */
class IngestFuzzIT {

    private static final String PATH = "/ingest/Every/0.1";
    private static final Duration ANSWER_WITHIN = Duration.ofSeconds(2);
    private static final int MAX_BODY = 64 * 1024;
    private static final int DEPTH_LIMIT = 64;

    private static TestNode node;
    private static IngestClient ingest;

    @BeforeAll
    static void startNode() throws Exception {
        node = TestNode.start(RandomRecords.DEFINITION, "moose-flows.ingest.max-body-size = " + MAX_BODY + "\n"
                + "moose-flows.ingest.max-nesting-depth = " + DEPTH_LIMIT);
        ingest = new IngestClient(node.ingestUrl());
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.dropDatabaseAndClose();
        }
    }

    /** One generated bad request. */
    private record Bad(String kind, String path, byte[] body, String contentType) {
    }

    @Test
    void everyBadBodyIsAnswered4xxQuicklyAndWritesNothingAndTheNodeCarriesOn() throws Exception {
        long seed = Long.getLong("moose.test.seed", System.nanoTime());
        int count = Math.max(200, Integer.getInteger("moose.test.fuzz-bodies", 300));
        System.out.println("IngestFuzzIT: seed " + seed + ", " + count + " bad bodies (replay with -Dmoose.test.seed=" + seed + ")");
        Random random = new Random(seed);
        RandomRecords records = new RandomRecords(seed, 0.0);

        // A good request first: the node is warm, and the table gets its first row.
        assertEquals(200, ingest.postRaw(PATH, records.nextValid("before").json(), "application/json").status());
        Map<TopicPartition, Long> offsets = endOffsets();

        Map<String, Integer> kinds = new TreeMap<>();
        Duration slowest = Duration.ZERO;
        for (int i = 0; i < count; i++) {
            Bad bad = generate(random, records, i);
            kinds.merge(bad.kind(), 1, Integer::sum);
            IngestClient.Reply reply = ingest.postRaw(bad.path(), bad.body(), bad.contentType());
            String context = "seed " + seed + ", body " + i + " (" + bad.kind() + "): " + abbreviate(bad.body());
            assertTrue(reply.status() >= 400 && reply.status() < 500, context + " answered " + reply.status() + " " + reply.body());
            assertTrue(reply.took().compareTo(ANSWER_WITHIN) <= 0, context + " took " + reply.took());
            // Paths no route takes get Akka HTTP's own 404 / 414 text; every ingest answer is JSON saying why.
            JsonNode error = bad.path().equals(PATH) ? reply.json().get("error") : null;
            assertTrue(bad.path().equals(PATH) ? error != null && !error.asText().isBlank() : !reply.body().isBlank(),
                    context + ": the reply says why: " + reply.body());
            slowest = reply.took().compareTo(slowest) > 0 ? reply.took() : slowest;
        }
        System.out.println("IngestFuzzIT: " + kinds + ", slowest answer " + slowest.toMillis() + " ms");

        assertEquals(offsets, endOffsets(), "seed " + seed + ": nothing was written to the ingestion topic, not even an aborted transaction");
        HttpResponse<Void> alive = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(node.adminUrl() + "/health/alive"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding());
        assertEquals(200, alive.statusCode(), "the node is alive");
        assertEquals(200, ingest.postRaw(PATH, records.nextValid("after").json(), null).status(), "a good request still works");
        assertEquals(List.of(List.of("after"), List.of("before")), storedIds(), "only the good requests' records are stored");
    }

    private static Bad generate(Random random, RandomRecords records, int i) {
        byte[] good = array(records, random, 1 + random.nextInt(5), "f" + i);
        return switch (random.nextInt(12)) {
            case 0 -> new Bad("random-bytes", PATH, randomBytes(random), null);
            case 1 -> new Bad("truncated", PATH, java.util.Arrays.copyOf(good, random.nextInt(good.length)), "application/json");
            case 2 -> new Bad("not-utf8", PATH, insert(good, random.nextInt(good.length + 1),
                    List.of(new byte[]{(byte) 0xFF}, new byte[]{(byte) 0xC0, (byte) 0xAF}, new byte[]{(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                            new byte[]{(byte) 0x80}, new byte[]{(byte) 0xF5, (byte) 0x80, (byte) 0x80, (byte) 0x80}).get(random.nextInt(5))), null);
            case 3 -> new Bad("trailing-garbage", PATH, concat(good, List.of("x", "]", ",", "{}", "[]", "\u0000", "//").get(random.nextInt(7))), null);
            case 4 -> new Bad("bad-record-in-batch", PATH, batchWithOneBad(random, records, i), "application/json");
            case 5 -> {
                int depth = DEPTH_LIMIT + 1 + random.nextInt(random.nextBoolean() ? 10 : 100_000);
                String open = random.nextBoolean() ? "[" : "{\"a\":";
                String close = open.equals("[") ? "]" : "}";
                byte[] body = (open.repeat(depth) + "1" + close.repeat(depth)).getBytes(StandardCharsets.UTF_8);
                yield new Bad("too-deep", PATH, body.length > MAX_BODY ? java.util.Arrays.copyOf(body, MAX_BODY) : body, null);
            }
            case 6 -> new Bad("json-near-miss", PATH, nearMiss(random, good).getBytes(StandardCharsets.UTF_8), "application/json");
            case 7 -> {
                ByteArrayOutputStream big = new ByteArrayOutputStream();
                big.write('[');
                while (big.size() <= MAX_BODY) {
                    big.writeBytes(records.nextValid("big").json());
                    big.write(',');
                }
                big.writeBytes(records.nextValid("big").json());
                big.write(']');
                yield new Bad("too-large", PATH, big.toByteArray(), "application/json");
            }
            case 8 -> new Bad("not-json-content-type", PATH, good, List.of("text/plain", "application/x-www-form-urlencoded",
                    "text/csv", "application/xml", "multipart/form-data; boundary=x", "image/png").get(random.nextInt(6)));
            case 9 -> new Bad("unknown-model", List.of("/ingest/Nope/0.1", "/ingest/Every/9.9", "/ingest/Every/%00",
                    "/ingest/%E2%80%AE/0.1", "/ingest/Every/0.1/extra", "/ingest/" + "A".repeat(2000)).get(random.nextInt(6)), good, null);
            case 10 -> new Bad("not-records", PATH, List.of("1", "\"text\"", "null", "true", "[1,2]", "[[]]", "[null]", " ", "",
                    "{}", "[{}]", "[\"x\"]").get(random.nextInt(12)).getBytes(StandardCharsets.UTF_8), null);
            default -> new Bad("raw-control-in-string", PATH, ("[{\"id\":\"a" + (char) random.nextInt(0x20) + "b\"}]")
                    .getBytes(StandardCharsets.UTF_8), null);
        };
    }

    /** Bytes from an alphabet rich in JSON's own characters, so some come close to JSON; never a bare empty array. */
    private static byte[] randomBytes(Random random) {
        String alphabet = "{}[]\":,0123456789.eE+-truefalsn \t\n\\u";
        byte[] body;
        do {
            body = new byte[1 + random.nextInt(200)];
            for (int j = 0; j < body.length; j++) {
                body[j] = random.nextInt(4) == 0 ? (byte) random.nextInt(256) : (byte) alphabet.charAt(random.nextInt(alphabet.length()));
            }
        } while (new String(body, StandardCharsets.ISO_8859_1).replaceAll("[ \t\n\r]", "").equals("[]"));
        return body;
    }

    private static String nearMiss(Random random, byte[] good) {
        String text = new String(good, StandardCharsets.UTF_8);
        return switch (random.nextInt(8)) {
            case 0 -> text.replaceFirst("\"f64\":[^,}]+", "\"f64\":NaN");
            case 1 -> text.replaceFirst("\"f64\":[^,}]+", "\"f64\":Infinity");
            case 2 -> "/* comment */" + text;
            case 3 -> text.replaceFirst("\"id\"", "'id'");
            case 4 -> text.replaceFirst("\\{\"id\":", "{\"i32\":1,\"id\":"); // duplicate key
            case 5 -> text.substring(0, text.length() - 1) + ",]";
            case 6 -> text.replaceFirst("\"id\"", "id");
            default -> text.replaceFirst("\"i32\":(-?)", "\"i32\":$10");
        };
    }

    private static byte[] batchWithOneBad(Random random, RandomRecords good, int i) {
        RandomRecords mostlyBad = new RandomRecords(random.nextLong(), 0.5);
        RandomRecords.Record bad;
        do {
            bad = mostlyBad.next("bad" + i);
        } while (bad.valid());
        List<byte[]> parts = new ArrayList<>();
        int size = 1 + random.nextInt(20);
        int at = random.nextInt(size);
        for (int j = 0; j < size; j++) {
            parts.add(j == at ? bad.json() : good.nextValid("g" + i + "-" + j).json());
        }
        return join(parts);
    }

    private static byte[] array(RandomRecords records, Random random, int size, String prefix) {
        List<byte[]> parts = new ArrayList<>();
        for (int j = 0; j < size; j++) {
            parts.add(records.nextValid(prefix + "-" + j).json());
        }
        return join(parts);
    }

    private static byte[] join(List<byte[]> parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write('[');
        for (int j = 0; j < parts.size(); j++) {
            if (j > 0) {
                out.write(',');
            }
            out.writeBytes(parts.get(j));
        }
        out.write(']');
        return out.toByteArray();
    }

    private static byte[] insert(byte[] body, int at, byte[] bytes) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(body, 0, at);
        out.writeBytes(bytes);
        out.write(body, at, body.length - at);
        return out.toByteArray();
    }

    private static byte[] concat(byte[] body, String tail) {
        return insert(body, body.length, tail.getBytes(StandardCharsets.UTF_8));
    }

    /** The ingestion topic's high-water marks: they move for every record written, committed or aborted. */
    private static Map<TopicPartition, Long> endOffsets() {
        String topic = node.names.ingestionTopic(node.definition().allVersions().get(0).ref());
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(
                Map.<String, Object>copyOf(KafkaSettings.from(node.config).commonClientProperties()),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            return new HashMap<>(consumer.endOffsets(partitions, Duration.ofSeconds(30)));
        }
    }

    private static List<List<String>> storedIds() throws Exception {
        String table = node.namespace + ".Every_0_1";
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        List<List<String>> ids = List.of();
        while (System.nanoTime() < deadline && ids.size() < 2) {
            Thread.sleep(300);
            ids = node.clickhouse.query("SELECT id FROM " + table + " ORDER BY id").toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
        return ids;
    }

    private static String abbreviate(byte[] body) {
        String text = new String(body, 0, Math.min(body.length, 300), StandardCharsets.ISO_8859_1);
        return text + (body.length > 300 ? "... (" + body.length + " bytes)" : "");
    }
}
