package io.moose.flows.migration;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.moose.flows.flow.Transforms;
import io.moose.flows.node.NodeConfig;
import io.moose.flows.node.NodeContext;
import io.moose.flows.node.Provisioning;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.ClickHouseSettings;
import io.moose.flows.kafka.KafkaSettings;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.migration.InitialLoad.Cursor;
import io.moose.flows.migration.InitialLoad.Cut;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.TopicNames;
import io.moose.flows.testing.Infra;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The initial load's pieces against real Kafka and ClickHouse: which rows, in which chunks, and recognising a sent chunk. */
class InitialLoadIT {

    private NodeContext node;
    private ClickHouse clickhouse;
    private FlowDefinition migration;
    private String sourceTopic;

    @BeforeEach
    void provision() throws Exception {
        String namespace = Infra.uniqueName("load");
        Config config = NodeConfig.load(ConfigFactory.parseString(String.join("\n",
                "moose-flows.kafka.bootstrap-servers = \"" + Infra.get().kafkaBootstrap() + "\"",
                "moose-flows.clickhouse.url = \"" + Infra.get().clickhouseUrl() + "\"",
                "moose-flows.clickhouse.database = \"" + namespace + "\"")));
        ProjectDefinition definition = ProjectDefinitionLoader.load(Infra.repoRoot().resolve("conf/project.conf"));
        TopicNames names = TopicNames.withNamespace(namespace);
        KafkaSettings kafka = KafkaSettings.from(config);
        Provisioning.run(kafka, ClickHouseSettings.from(config), definition, names).requireOk();
        clickhouse = ClickHouse.connect(ClickHouseSettings.from(config));
        node = new NodeContext(config, new AtomicReference<>(definition), names, kafka, clickhouse, new SimpleMeterRegistry(), null,
                Transforms.classPathOnly());
        migration = definition.flow("UserActivity_0_0_UserActivity_0_1").orElseThrow();
        sourceTopic = names.ingestionTopic(migration.source());
        // Rows as the table sync writes them: partition 0 offsets 0..9, partition 1 offsets 0..4,
        // plus two rows from a bulk import (another origin).
        StringBuilder rows = new StringBuilder();
        for (int p = 0; p < 2; p++) {
            for (int o = 0; o < (p == 0 ? 10 : 5); o++) {
                rows.append(row("e-" + p + "-" + o, sourceTopic, p, o));
            }
        }
        rows.append(row("bulk-0", "bulk-import", 0, 0)).append(row("bulk-1", "bulk-import", 0, 1));
        clickhouse.insertJsonEachRow("UserActivity_0_0", rows.toString().getBytes(StandardCharsets.UTF_8)).toCompletableFuture().get();
    }

    @AfterEach
    void close() {
        clickhouse.close();
    }

    private static String row(String eventId, String topic, int partition, long offset) {
        return "{\"eventId\":\"" + eventId + "\",\"timestamp\":\"2024-01-31 12:00:00\",\"userId\":\"u\",\"activity\":\"click:x@/\","
                + "\"_src_topic\":\"" + topic + "\",\"_src_partition\":" + partition + ",\"_src_offset\":" + offset + "}\n";
    }

    @Test
    void loadCarriesRowsBelowTheCutAndRowsOfOtherOriginsInCoordinateOrder() throws Exception {
        try (InitialLoad load = new InitialLoad(migration, node)) {
            Cut cut = new Cut(Map.of(sourceTopic, Map.of(0, 7L, 1, 5L, 2, 0L)));
            assertEquals(7 + 5 + 2, get(load.countRows(cut)));

            Chunk first = get(load.readChunk(cut, Cursor.START, 6));
            assertEquals(6, first.size());
            assertEquals(new Cursor("bulk-import", 0, 1), first.origin(1));
            Chunk second = get(load.readChunk(cut, first.last(), 100));
            assertEquals(8, second.size());
            assertEquals(new Cursor(sourceTopic, 1, 4), second.last());
            assertTrue(get(load.readChunk(cut, second.last(), 100)).isEmpty(), "nothing after the last row below the cut");

            Chunk again = get(load.rereadChunk(cut, first.last(), second.last()));
            assertEquals(second.origins(), again.origins());
            String record = new String(first.value(2), StandardCharsets.UTF_8);
            assertFalse(record.contains("_src_"), "loaded records carry the model's columns only: " + record);
        }
    }

    @Test
    void loadedRecordsCarryStringsWithTabsLineFeedsQuotesAndNonAsciiUnchanged() throws Exception {
        String tricky = "t\tn\nr\rb\\q\"'\u0001\u00e9\u20ac\ud83d\ude00";
        ObjectNode row = new ObjectMapper().createObjectNode().put("eventId", tricky).put("timestamp", "2024-01-31 12:00:00")
                .put("userId", "u").put("activity", "click:x@/").put("_src_topic", "bulk-import").put("_src_partition", 0).put("_src_offset", 2);
        clickhouse.insertJsonEachRow("UserActivity_0_0", (row + "\n").getBytes(StandardCharsets.UTF_8)).toCompletableFuture().get();
        try (InitialLoad load = new InitialLoad(migration, node)) {
            Chunk all = get(load.readChunk(new Cut(Map.of(sourceTopic, Map.of(0, 0L, 1, 0L, 2, 0L))), Cursor.START, 100));
            assertEquals(new Cursor("bulk-import", 0, 2), all.last());
            JsonNode record = new ObjectMapper().readTree(all.value(2));
            assertEquals(tricky, record.get("eventId").asText());
            assertEquals("2024-01-31 12:00:00", record.get("timestamp").asText());
        }
    }

    @Test
    void chunksReadFromOneOpenReadEqualChunksReadAfterEveryKindOfReopening() throws Exception {
        Cut cut = new Cut(Map.of(sourceTopic, Map.of(0, 10L, 1, 5L, 2, 0L)));
        List<Cursor> streamed = new ArrayList<>();
        try (InitialLoad load = new InitialLoad(migration, node)) {
            Cursor cursor = Cursor.START;
            for (Chunk chunk = get(load.readChunk(cut, cursor, 4)); !chunk.isEmpty(); chunk = get(load.readChunk(cut, cursor, 4))) {
                assertTrue(chunk.size() <= 4, "a chunk holds at most the limit");
                streamed.addAll(chunk.origins());
                cursor = chunk.last();
            }
            assertEquals(get(load.countRows(cut)).intValue(), streamed.size(), "every row below the cut, once: " + streamed);
            assertEquals(streamed.stream().distinct().count(), streamed.size(), "no row twice: " + streamed);

            // a resend reads from a cursor the open read has passed: the same rows again
            Chunk second = get(load.readChunk(cut, streamed.get(3), 4));
            assertEquals(streamed.subList(4, 8), second.origins());
        }
        // a new node after a crash: a new load per chunk, each opening its read at the checkpoint
        List<Cursor> reopened = new ArrayList<>();
        Cursor cursor = Cursor.START;
        while (true) {
            try (InitialLoad load = new InitialLoad(migration, node)) {
                Chunk chunk = get(load.readChunk(cut, cursor, 3));
                if (chunk.isEmpty()) {
                    break;
                }
                reopened.addAll(chunk.origins());
                cursor = chunk.last();
            }
        }
        assertEquals(streamed, reopened);
    }

    @Test
    void chunkCommittedInKafkaIsRecognisedAndTheZombieLoaderIsFenced() throws Exception {
        Cut cut = new Cut(Map.of(sourceTopic, Map.of(0, 10L, 1, 5L, 2, 0L)));
        InitialLoad crashed = new InitialLoad(migration, node);
        Map<Integer, Long> endsBefore = get(crashed.inputEndOffsets());
        Chunk chunk = get(crashed.readChunk(cut, Cursor.START, 4));
        get(crashed.send(7, chunk));

        try (InitialLoad successor = new InitialLoad(migration, node)) {
            assertTrue(get(successor.chunkCommitted(7, endsBefore)), "the committed chunk is found by its header");
            assertFalse(get(successor.chunkCommitted(8, endsBefore)), "a chunk never sent is not");
            ExecutionException fenced = assertThrows(ExecutionException.class, () -> get(crashed.send(8, chunk)));
            assertTrue(causedBy(fenced, ProducerFencedException.class), () -> "not fenced: " + fenced);
        } finally {
            crashed.close();
        }
    }

    @Test
    void endsAnsweredBySendingAChunkLetASuccessorFindTheNextChunkWithoutAskingTheBroker() throws Exception {
        // the actor records the next chunk's start with these ends in the same write as this chunk's checkpoint
        Cut cut = new Cut(Map.of(sourceTopic, Map.of(0, 10L, 1, 5L, 2, 0L)));
        InitialLoad crashed = new InitialLoad(migration, node);
        Chunk first = get(crashed.readChunk(cut, Cursor.START, 4));
        Map<Integer, Long> afterFirst = get(crashed.send(1, first));
        Map<Integer, Long> ends = get(crashed.inputEndOffsets());
        afterFirst.forEach((partition, end) -> assertTrue(end <= ends.get(partition),
                () -> "partition " + partition + ": " + end + " is past the topic's end " + ends.get(partition)));
        assertFalse(afterFirst.isEmpty(), "the partitions the chunk wrote to");

        Chunk second = get(crashed.readChunk(cut, first.last(), 4));
        get(crashed.send(2, second));
        // a crash now: chunk 2 is in Kafka, its checkpoint is not
        try (InitialLoad successor = new InitialLoad(migration, node)) {
            Map<Integer, Long> recorded = new java.util.TreeMap<>(Map.of(0, 0L));
            recorded.putAll(afterFirst);
            assertTrue(get(successor.chunkCommitted(2, recorded)), "chunk 2 lies above the ends chunk 1's send answered");
            assertFalse(get(successor.chunkCommitted(1, recorded)), "chunk 1 lies below them: not mistaken for the pending one");
        } finally {
            crashed.close();
        }
    }

    private static boolean causedBy(Throwable error, Class<? extends Throwable> type) {
        for (Throwable e = error; e != null; e = e.getCause()) {
            if (type.isInstance(e)) {
                return true;
            }
        }
        return false;
    }

    private static <T> T get(CompletionStage<T> stage) throws Exception {
        return stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
}
