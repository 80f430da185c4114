package io.moose.flows.clickhouse;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.model.Column;
import io.moose.flows.model.ColumnType;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.VersionRef;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RowDecoderTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final ModelVersion VERSION = new ModelVersion(new VersionRef("Everything", "1.0"), List.of(
            new Column("s", ColumnType.STRING, false, Optional.empty()),
            new Column("i", ColumnType.INT32, false, Optional.empty()),
            new Column("l", ColumnType.INT64, false, Optional.empty()),
            new Column("f", ColumnType.FLOAT64, false, Optional.empty()),
            new Column("b", ColumnType.BOOLEAN, false, Optional.empty()),
            new Column("t", ColumnType.DATETIME, false, Optional.empty()),
            new Column("d", ColumnType.DATE, false, Optional.empty()),
            new Column("maybe", ColumnType.STRING, true, Optional.empty())),
            List.of("t"));

    @Test
    void rowsAsClickHousePrintsThemBecomeTheBytesJacksonWritesForTheRecord() throws Exception {
        // TabSeparated escapes tab, line feed, backslash, quote and control bytes; 64-bit integers are plain
        String tsv = "a\\tb\\nc\\\\d\\'e\"f\u0001g\u00e9\u20ac\t-2147483648\t9223372036854775807\t1.5\t1\t2024-01-31 12:00:00\t2024-01-31\t\\N\n"
                + "\t0\t-1\t-0.25e-7\t0\t1970-01-01 00:00:00\t1970-01-01\tx\\0y\n";
        TabSeparatedReader rows = reader(tsv);
        RowDecoder decoder = new RowDecoder(VERSION);

        assertEquals(8, rows.next());
        ObjectNode first = JSON.createObjectNode().put("s", "a\tb\nc\\d'e\"f\u0001g\u00e9\u20ac").put("i", Integer.MIN_VALUE)
                .put("l", Long.MAX_VALUE).put("f", 1.5).put("b", true).put("t", "2024-01-31 12:00:00").put("d", "2024-01-31").putNull("maybe");
        assertArrayEquals(JSON.writeValueAsBytes(first), decoder.record(rows));

        assertEquals(8, rows.next());
        ObjectNode second = JSON.createObjectNode().put("s", "").put("i", 0).put("l", -1L).put("f", -0.25e-7).put("b", false)
                .put("t", "1970-01-01 00:00:00").put("d", "1970-01-01").put("maybe", "x\0y");
        assertEquals(JSON.readTree(JSON.writeValueAsBytes(second)), JSON.readTree(decoder.record(rows)), "the same record (numbers as ClickHouse printed them)");
        assertEquals(-1, rows.next());
    }

    @Test
    void infinitiesAndNanHaveNoJsonFormAndBecomeNull() throws Exception {
        for (String value : List.of("inf", "-inf", "nan", "-nan")) {
            TabSeparatedReader rows = reader("s\t1\t1\t" + value + "\t1\t2024-01-31 12:00:00\t2024-01-31\t\\N\n");
            rows.next();
            assertEquals(JSON.nullNode(), JSON.readTree(new RowDecoder(VERSION).record(rows)).get("f"), value);
        }
    }

    @Test
    void aFieldThatIsNotItsColumnsTypeIsAnError() throws Exception {
        for (String row : List.of("s\tx\t1\t1\t1\t2024-01-31 12:00:00\t2024-01-31\t\\N\n",
                "s\t1\t1\t1.\t1\t2024-01-31 12:00:00\t2024-01-31\t\\N\n",
                "s\t1\t1\tinfinity\t1\t2024-01-31 12:00:00\t2024-01-31\t\\N\n")) {
            TabSeparatedReader rows = reader(row);
            rows.next();
            assertThrows(IllegalArgumentException.class, () -> new RowDecoder(VERSION).record(rows), row);
        }
    }

    @Test
    void aBodyThatStopsInsideARowIsAnErrorNotAShorterRow() throws Exception {
        TabSeparatedReader rows = reader("a\t1\nb\t12");
        assertEquals(2, rows.next());
        assertThrows(IOException.class, rows::next);
    }

    @Test
    void rowsLongerThanTheBufferAndSplitAcrossReadsAreWhole() throws Exception {
        String big = "x".repeat(200_000);
        byte[] body = ("a\t" + big + "\n\nb\t1\n").getBytes(StandardCharsets.UTF_8);
        // a stream handing out a few bytes per read
        InputStream trickle = new ByteArrayInputStream(body) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 7_777));
            }
        };
        TabSeparatedReader rows = new TabSeparatedReader(trickle);
        assertEquals(2, rows.next());
        assertEquals(big, rows.text(1));
        assertEquals(2, rows.next(), "empty lines are skipped");
        assertEquals("b", rows.text(0));
        assertEquals(1, rows.longField(1));
        assertEquals(-1, rows.next());
    }

    private static TabSeparatedReader reader(String tsv) {
        return new TabSeparatedReader(new ByteArrayInputStream(tsv.getBytes(StandardCharsets.UTF_8)));
    }
}
