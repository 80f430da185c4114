package io.moose.flows.migration;

import io.moose.flows.migration.InitialLoad.Cursor;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChunkTest {

    @Test
    void packedRowsGiveBackEveryRecordAndOriginInOrderPastEveryInitialCapacity() {
        // capacities far below what is added: both the records' array and the rows' arrays grow, several times
        Chunk.Builder builder = new Chunk.Builder(1, 10);
        List<byte[]> records = new ArrayList<>();
        List<Cursor> origins = new ArrayList<>();
        byte[] scratch = new byte[4096];
        for (int i = 0; i < 1000; i++) {
            byte[] record = ("{\"n\":" + i + ",\"pad\":\"" + "x".repeat(i % 300) + "\"}").getBytes(StandardCharsets.UTF_8);
            // the builder copies: the caller's buffer is overwritten by the next row, as RowDecoder's is
            System.arraycopy(record, 0, scratch, 0, record.length);
            String topic = i < 500 ? "bulk-import" : "UserActivity_0_0";
            builder.add(scratch, record.length, topic, i % 3, 10_000L + i);
            java.util.Arrays.fill(scratch, (byte) '?');
            records.add(record);
            origins.add(new Cursor(topic, i % 3, 10_000L + i));
        }
        Chunk chunk = builder.build();

        assertEquals(1000, chunk.size());
        for (int i = 0; i < 1000; i++) {
            assertArrayEquals(records.get(i), chunk.value(i), "record " + i);
        }
        assertEquals(origins, chunk.origins());
        assertEquals(origins.get(999), chunk.last());
        assertEquals(records.stream().mapToLong(r -> r.length).sum(), chunk.bytes());
        assertThrows(IndexOutOfBoundsException.class, () -> chunk.value(1000));
        assertThrows(IndexOutOfBoundsException.class, () -> chunk.origin(-1));
    }

    @Test
    void emptyChunkHasNoLastRowAndNoBytes() {
        assertTrue(Chunk.EMPTY.isEmpty());
        assertNull(Chunk.EMPTY.last());
        assertEquals(0, Chunk.EMPTY.bytes());
        assertTrue(Chunk.EMPTY.origins().isEmpty());
        assertTrue(new Chunk.Builder(0, 0).build().isEmpty());
    }

    @Test
    void emptyRecordsAreRowsToo() {
        Chunk.Builder builder = new Chunk.Builder(4, 0);
        builder.add(new byte[0], 0, "t", 0, 1);
        builder.add("{}".getBytes(StandardCharsets.UTF_8), 2, "t", 0, 2);
        Chunk chunk = builder.build();
        assertEquals(2, chunk.size());
        assertArrayEquals(new byte[0], chunk.value(0));
        assertArrayEquals("{}".getBytes(StandardCharsets.UTF_8), chunk.value(1));
    }
}
