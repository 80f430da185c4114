package io.moose.flows.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.moose.flows.testing.IngestClient;
import io.moose.flows.testing.RandomRecords;
import io.moose.flows.testing.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Property: seeded random records of every column type, valid and invalid, with awkward strings and
 * boundary numbers, go through POST /ingest and the table sync into the real ClickHouse. Every record
 * refused is explained (its index and field, or for a body that is not UTF-8 or not JSON, the byte
 * offset), exactly the fields that are wrong and no others; every record accepted is stored, each
 * column read back byte for byte (strings and Float64 as the hex of their bytes). The seed is
 * printed; {@code -Dmoose.test.seed=N} replays a run, {@code -Dmoose.test.property-records=N} sizes it.
 */
class WhatIngestAcceptsIsStoredByteForByteIT {

    private static final String PATH = "/ingest/Every/0.1";
    private static final Duration WAIT = Duration.ofSeconds(180);
    private static final int CHUNK = 100;

    private static TestNode node;
    private static IngestClient ingest;

    @BeforeAll
    static void startNode() throws Exception {
        node = TestNode.start(RandomRecords.DEFINITION, "moose-flows.ingest.max-reported-problems = 1000000");
        ingest = new IngestClient(node.ingestUrl());
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.dropDatabaseAndClose();
        }
    }

    @Test
    void everyAcceptedRecordIsStoredByteForByteAndEveryRefusedOneIsExplained() throws Exception {
        long seed = Long.getLong("moose.test.seed", System.nanoTime());
        int count = Integer.getInteger("moose.test.property-records", 800);
        System.out.println("WhatIngestAcceptsIsStoredByteForByteIT: seed " + seed + ", " + count
                + " records (replay with -Dmoose.test.seed=" + seed + ")");
        RandomRecords generator = new RandomRecords(seed, 0.04);
        List<RandomRecords.Record> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            records.add(generator.next(String.format("p%05d", i)));
        }

        // A body that is not UTF-8 or not JSON is refused as a whole, naming where.
        List<RandomRecords.Record> readable = new ArrayList<>();
        int unreadable = 0;
        for (RandomRecords.Record record : records) {
            int badAt = record.badAt();
            if (badAt < 0) {
                readable.add(record);
                continue;
            }
            unreadable++;
            IngestClient.Reply reply = ingest.postRaw(PATH, record.json(), "application/json");
            assertEquals(400, reply.status(), "seed " + seed + ", " + record.id() + ": " + reply.body());
            JsonNode offset = reply.json().get("offset");
            assertTrue(offset != null && offset.asLong() >= badAt && offset.asLong() <= badAt + 4,
                    "seed " + seed + ", " + record.id() + ": the reply names the byte offset of the bad bytes (" + badAt + "): " + reply.body());
        }

        // The rest in one request: every problem is listed, by index and field, and nothing else is.
        Set<String> expected = new TreeSet<>();
        List<RandomRecords.Record> valid = new ArrayList<>();
        for (int i = 0; i < readable.size(); i++) {
            for (String field : readable.get(i).invalidFields()) {
                expected.add(i + ":" + field);
            }
            if (readable.get(i).valid()) {
                valid.add(readable.get(i));
            }
        }
        IngestClient.Reply all = ingest.postRaw(PATH, array(readable), "application/json");
        if (expected.isEmpty()) {
            assertEquals(200, all.status(), all.body());
        } else {
            assertEquals(400, all.status(), "seed " + seed + ": " + abbreviate(all.body()));
            Set<String> listed = new TreeSet<>();
            List<String> unexpected = new ArrayList<>();
            for (JsonNode problem : all.json().get("problems")) {
                String key = problem.get("index").asInt() + ":" + problem.get("field").asText();
                listed.add(key);
                assertTrue(!problem.get("problem").asText().isBlank(), problem.toString());
                if (!expected.contains(key)) {
                    unexpected.add(key + " " + problem.get("problem").asText() + " in "
                            + new String(readable.get(problem.get("index").asInt()).json(), StandardCharsets.UTF_8));
                }
            }
            Set<String> unlisted = new TreeSet<>(expected);
            unlisted.removeAll(listed);
            assertTrue(unexpected.isEmpty() && unlisted.isEmpty(), "seed " + seed + ": the problems listed are exactly the invalid fields; "
                    + "refused although valid: " + String.join("\n", unexpected.subList(0, Math.min(20, unexpected.size())))
                    + "\nnot listed although invalid: " + unlisted);
            for (int from = 0; from < valid.size(); from += CHUNK) {
                IngestClient.Reply accepted = ingest.postRaw(PATH, array(valid.subList(from, Math.min(valid.size(), from + CHUNK))), null);
                assertEquals(200, accepted.status(), "seed " + seed + ": " + abbreviate(accepted.body()));
            }
        }
        System.out.println("WhatIngestAcceptsIsStoredByteForByteIT: " + valid.size() + " accepted, " + expected.size()
                + " field problems, " + unreadable + " unreadable bodies");

        Map<String, List<String>> stored = readBack(valid.size());
        List<String> mismatches = new ArrayList<>();
        for (RandomRecords.Record record : valid) {
            List<String> row = stored.get(record.id());
            if (row == null) {
                mismatches.add(record.id() + " not stored: " + new String(record.json(), StandardCharsets.UTF_8));
                continue;
            }
            List<String> want = record.storedRow();
            for (int c = 1; c < want.size(); c++) {
                if (!want.get(c).equals(row.get(c))) {
                    RandomRecords.Field field = record.fields().get(c - 1);
                    mismatches.add(record.id() + "." + field.name() + ": sent " + (field.json() == null ? "(absent)"
                            : new String(field.json(), StandardCharsets.UTF_8)) + ", expected " + want.get(c) + ", stored " + row.get(c));
                }
            }
        }
        assertEquals(valid.size(), stored.size(), "seed " + seed + ": rows stored");
        assertTrue(mismatches.isEmpty(), "seed " + seed + ": " + mismatches.size() + " values not stored as sent:\n"
                + String.join("\n", mismatches.subList(0, Math.min(40, mismatches.size()))));
    }

    private static Map<String, List<String>> readBack(int rows) throws Exception {
        String table = node.namespace + ".Every_0_1";
        long deadline = System.nanoTime() + WAIT.toNanos();
        long count = -1;
        while (System.nanoTime() < deadline && count < rows) {
            Thread.sleep(300);
            count = Long.parseLong(node.clickhouse.query("SELECT count() FROM " + table)
                    .toCompletableFuture().get(60, TimeUnit.SECONDS).get(0).get(0));
        }
        assertEquals(rows, count, "every accepted record reaches the table within " + WAIT);
        Map<String, List<String>> byId = new HashMap<>();
        for (List<String> row : node.clickhouse.query("SELECT " + RandomRecords.STORED_COLUMNS + " FROM " + table)
                .toCompletableFuture().get(60, TimeUnit.SECONDS)) {
            byId.put(row.get(0), row);
        }
        return byId;
    }

    private static byte[] array(List<RandomRecords.Record> records) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write('[');
        for (int i = 0; i < records.size(); i++) {
            if (i > 0) {
                out.write(',');
            }
            out.writeBytes(records.get(i).json());
        }
        out.write(']');
        return out.toByteArray();
    }

    private static String abbreviate(String text) {
        return text.length() <= 2000 ? text : text.substring(0, 2000) + "...";
    }
}
