package io.moose.flows.sync;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.ClickHouseSettings;
import io.moose.flows.clickhouse.TableSchema;
import io.moose.flows.testing.DataPlaneFixture;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

import static io.moose.flows.sync.RowEncoderTest.EVERYTHING;
import static io.moose.flows.testing.DataPlaneFixture.join;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Rows the sink sends as TabSeparated (through a run's ingress) are stored exactly as the same records
 * sent as JSONEachRow, and their Float64 values exactly as the records' doubles.
 */
class TabSeparatedRowsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SEED = 20240131L;
    private static final int GENERATED = 6_000;
    private static final String TOPIC = "topic\twith\\odd chars";
    private static final int PARTITIONS = 3;
    private static final String VIA_JSON = "via_json";
    private static final String VIA_TSV = "via_tsv";

    /** The generator's valid records miss a few shapes worth storing explicitly. */
    private static final List<String> HANDWRITTEN = List.of(
            "{\"s\": \"\", \"i\": 0, \"l\": 0, \"f\": 0, \"b\": false, \"t\": 0, \"d\": \"1970-01-01\", \"ns\": \"\", \"region\": \"\"}",
            "{\"s\": \"tab\\there\\nnew\\rcr\\\\back'single\\\"double\\u0000nul\\b\\f\", \"ns\": \"\\\\N\", \"i\": -2147483648,"
                    + " \"l\": -9223372036854775808, \"f\": 1.7976931348623157E308, \"nf\": -4.9e-324, \"b\": true, \"t\": \"2105-12-31T23:59:59Z\","
                    + " \"d\": \"2105-12-31\", \"nt\": 1706702407, \"nd\": null}",
            "{\"s\": \"\\ud83d\\ude00 \u00e9\u4e2d\\u2028 \uD83C\uDF89 x\", \"ns\": \"N\", \"i\": 1, \"l\": 2,"
                    + " \"f\": 4.9e-324, \"nf\": 1.7976931348623157E308, \"b\": false, \"t\": \"2024-02-29 12:00:00.999\","
                    + " \"d\": \"2024-02-29\", \"ratio\": 123456789012345678901234567890, \"small\": 5}");

    @Test
    void tabSeparatedRowsStoreExactlyWhatJsonRowsStore() throws Exception {
        try (DataPlaneFixture dp = new DataPlaneFixture()) {
            join(dp.clickhouse.createDatabaseIfMissing());
            for (String table : List.of(VIA_JSON, VIA_TSV)) {
                join(dp.clickhouse.execute(TableSchema.createStatement(dp.clickhouse.qualified(table), EVERYTHING)));
            }
            RowEncoder encoder = new RowEncoder(EVERYTHING, JSON);
            ByteArrayOutputStream jsonRows = new ByteArrayOutputStream();
            ByteArrayOutputStream tsvRows = new ByteArrayOutputStream();
            List<byte[]> records = new ArrayList<>();
            HANDWRITTEN.forEach(r -> records.add(r.getBytes(StandardCharsets.UTF_8)));
            Random random = new Random(SEED);
            for (int n = 0; n < GENERATED; n++) {
                records.add(RowEncoderTest.generate(random).bytes());
            }
            int rows = 0;
            for (int n = 0; n < records.size(); n++) {
                byte[] record = records.get(n);
                byte[] json;
                try {
                    json = encoder.encode(record, TOPIC, rows % PARTITIONS, rows);
                } catch (RowEncoder.InvalidRecordException invalid) {
                    assertTrue(n >= HANDWRITTEN.size(), invalid.getMessage());
                    continue;
                }
                // The encoder refuses lone surrogates (see loneSurrogatesAreRefusedSoNoInsertFailsOnOne).
                assertFalse(hasLoneHighSurrogate(JSON.readTree(record)), new String(record, StandardCharsets.UTF_8));
                jsonRows.writeBytes(json);
                tsvRows.writeBytes(encoder.encodeTabSeparated(record, TOPIC, rows % PARTITIONS, rows));
                rows++;
            }
            // About a third: the generator makes the rest invalid (lone surrogates among them).
            assertTrue(rows > GENERATED / 4, "valid records: " + rows);

            join(dp.clickhouse.insertJsonEachRow(VIA_JSON, jsonRows.toByteArray()));
            // The way the sink inserts: through a run's ingress (Float64 travels as its 64 bits, SinkFence).
            SinkFence fence = join(SinkFence.register(dp.clickhouse, VIA_TSV, TOPIC));
            join(dp.clickhouse.insertTabSeparated(fence.ingressTable(), encoder.columnNames(), tsvRows.toByteArray()));

            // Every column but the Float64 ones: byte for byte what JSONEachRow stored.
            List<List<String>> described = join(dp.clickhouse.query("DESCRIBE TABLE " + dp.clickhouse.qualified(VIA_TSV)));
            List<String> floats = new ArrayList<>();
            List<String> others = new ArrayList<>();
            for (List<String> column : described) {
                (column.get(1).contains("Float64") ? floats : others).add(column.get(0));
            }
            byte[] viaJson = select(dp, VIA_JSON, others, false);
            byte[] viaTsv = select(dp, VIA_TSV, others, false);
            assertEquals(rows, new String(viaJson, StandardCharsets.ISO_8859_1).split("\n").length);
            assertArrayEquals(viaJson, viaTsv, () -> firstDifference(viaJson, viaTsv));

            // Float64: the exact double of the record, to the bit. JSONEachRow is no reference there: 18.16's
            // text parsing of floats is not correctly rounded (-4.9E-324 stored as -0), while the sink's
            // TabSeparated carries the double's bits (SinkFence). Absent or null values: what JSON stored.
            String[] jsonLines = new String(jsonRows.toByteArray(), StandardCharsets.UTF_8).split("\n");
            String[] jsonBits = new String(select(dp, VIA_JSON, floats, true), StandardCharsets.UTF_8).split("\n");
            String[] tsvBits = new String(select(dp, VIA_TSV, floats, true), StandardCharsets.UTF_8).split("\n");
            assertEquals(rows, tsvBits.length);
            for (int row = 0; row < rows; row++) {
                JsonNode record = JSON.readTree(jsonLines[row]);
                String[] stored = tsvBits[row].split("\t", -1);
                String[] reference = jsonBits[row].split("\t", -1);
                for (int k = 0; k < floats.size(); k++) {
                    JsonNode value = record.get(floats.get(k));
                    String expected = value != null && value.isNumber()
                            ? Long.toUnsignedString(Double.doubleToRawLongBits(value.doubleValue()))
                            : reference[k];
                    assertEquals(expected, stored[k], "row " + row + ", column " + floats.get(k) + ": " + value);
                }
            }
        }
    }

    @Test
    void loneSurrogatesAreRefusedSoNoInsertFailsOnOne() throws Exception {
        try (DataPlaneFixture dp = new DataPlaneFixture()) {
            join(dp.clickhouse.createDatabaseIfMissing());
            join(dp.clickhouse.execute(TableSchema.createStatement(dp.clickhouse.qualified(VIA_JSON), EVERYTHING)));
            RowEncoder encoder = new RowEncoder(EVERYTHING, JSON);
            String valid = "{\"s\": \"a\\ud83d\\ude00b\", \"i\": 1, \"l\": 1, \"f\": 1, \"b\": true, \"t\": 0, \"d\": \"2024-01-31\"}";
            // A lone \ud800 used to fail a whole JSONEachRow INSERT, and a lone \udc00 was stored as CESU-8 bytes.
            for (String lone : List.of("a\\ud800b", "b\\udc00")) {
                byte[] record = valid.replace("a\\ud83d\\ude00b", lone).getBytes(StandardCharsets.UTF_8);
                assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encode(record, TOPIC, 0, 0));
                assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encodeTabSeparated(record, TOPIC, 0, 0));
            }
            join(dp.clickhouse.insertJsonEachRow(VIA_JSON, encoder.encode(valid.getBytes(StandardCharsets.UTF_8), TOPIC, 0, 0)));
            assertEquals(List.of(List.of("61F09F988062")),
                    join(dp.clickhouse.query("SELECT hex(s) FROM " + dp.clickhouse.qualified(VIA_JSON))));
        }
    }

    private static boolean hasLoneHighSurrogate(JsonNode record) {
        for (Iterator<JsonNode> values = record.elements(); values.hasNext(); ) {
            String text = values.next().textValue();
            for (int i = 0; text != null && i < text.length(); i++) {
                if (Character.isHighSurrogate(text.charAt(i))
                        && (i + 1 == text.length() || !Character.isLowSurrogate(text.charAt(++i)))) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * These columns of the table's rows as ClickHouse prints them, bytes untouched (ClickHouse.query
     * unescapes, merging NULL and "N"); Float64 columns as the 64 bits of their double when asked.
     */
    private static byte[] select(DataPlaneFixture dp, String table, List<String> columns, boolean asBits) throws Exception {
        ClickHouseSettings settings = ClickHouseSettings.from(dp.config);
        List<String> selected = columns.stream().map(ClickHouse::quote)
                .map(c -> asBits ? "reinterpretAsUInt64(reinterpretAsString(" + c + "))" : c).toList();
        String sql = "SELECT " + String.join(", ", selected) + " FROM " + dp.clickhouse.qualified(table)
                + " ORDER BY " + ClickHouse.quote(TableSchema.SOURCE_OFFSET) + " FORMAT TabSeparated";
        // 18.16 takes credentials as URL parameters.
        URI uri = URI.create(settings.url() + "/?user=" + URLEncoder.encode(settings.user(), StandardCharsets.UTF_8)
                + "&password=" + URLEncoder.encode(settings.password(), StandardCharsets.UTF_8));
        HttpResponse<byte[]> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(sql)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, response.statusCode(), () -> new String(response.body(), StandardCharsets.UTF_8));
        return response.body();
    }

    private static String firstDifference(byte[] expected, byte[] actual) {
        String[] a = new String(expected, StandardCharsets.UTF_8).split("\n");
        String[] b = new String(actual, StandardCharsets.UTF_8).split("\n");
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            if (!a[i].equals(b[i])) {
                return "row " + i + ":\n via JSON: " + a[i] + "\n via TSV:  " + b[i];
            }
        }
        return a.length + " rows via JSON, " + b.length + " via TSV";
    }
}
