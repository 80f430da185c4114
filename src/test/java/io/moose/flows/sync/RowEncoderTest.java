package io.moose.flows.sync;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.model.Column;
import io.moose.flows.model.ColumnType;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.VersionRef;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RowEncoderTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final ProjectDefinition PROJECT = ProjectDefinitionLoader.parse("""
            models = [{ name = M, versions = [
              { version = "1", columns = [ {name = id, type = String}, {name = at, type = DateTime}, {name = ok, type = Boolean},
                                           {name = region, type = String, default = "unknown"}, {name = n, type = Int64, nullable = true} ],
                order-by = [id] }
            ]}]
            flows = []
            """, "test");
    private final RowEncoder encoder = new RowEncoder(PROJECT.version(VersionRef.parse("M/1")).orElseThrow(), JSON);

    /** Every column type, nullable and defaulted ones among them, for the equivalence tests. */
    static final ModelVersion EVERYTHING = ProjectDefinitionLoader.parse("""
            models = [{ name = E, versions = [
              { version = "1", columns = [
                  {name = s, type = String}, {name = i, type = Int32}, {name = l, type = Int64}, {name = f, type = Float64},
                  {name = b, type = Boolean}, {name = t, type = DateTime}, {name = d, type = Date},
                  {name = ns, type = String, nullable = true}, {name = ni, type = Int32, nullable = true},
                  {name = nl, type = Int64, nullable = true}, {name = nf, type = Float64, nullable = true},
                  {name = nb, type = Boolean, nullable = true}, {name = nt, type = DateTime, nullable = true},
                  {name = nd, type = Date, nullable = true, default = "2000-02-29"},
                  {name = region, type = String, default = "unknown"}, {name = flag, type = Boolean, default = true},
                  {name = since, type = DateTime, default = "2024-01-31T12:00:00+01:00"}, {name = zero, type = DateTime, default = 0},
                  {name = count, type = Int64, default = 7}, {name = small, type = Int32, default = -3},
                  {name = ratio, type = Float64, default = 0.25}, {name = day, type = Date, default = "2024-02-29"} ],
                order-by = [s] }
            ]}]
            flows = []
            """, "test").version(VersionRef.parse("E/1")).orElseThrow();
    private static final long SEED = 424242L;
    private static final int RECORDS = 8_000;

    @Test
    void writesEveryColumnInClickhouseFormsWithTheSourceCoordinates() throws Exception {
        byte[] line = encoder.encode("{\"id\":\"a\",\"at\":\"2024-01-31T12:00:05+01:00\",\"ok\":true}".getBytes(StandardCharsets.UTF_8),
                "topic", 2, 77);
        String text = new String(line, StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\n"), "one JSONEachRow line");
        assertEquals(JSON.readTree("""
                {"id":"a","at":"2024-01-31 11:00:05","ok":1,"region":"unknown","n":null,
                 "_src_topic":"topic","_src_partition":2,"_src_offset":77}"""), JSON.readTree(text));
    }

    @Test
    void rejectsARecordThatIsNotValidForTheVersionNamingTheField() {
        var error = assertThrows(RowEncoder.InvalidRecordException.class,
                () -> encoder.encode("{\"id\":1}".getBytes(StandardCharsets.UTF_8), "t", 0, 0));
        assertTrue(error.getMessage().contains("'id'"), error.getMessage());
        assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encode("{oops".getBytes(StandardCharsets.UTF_8), "t", 0, 0));
        assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encode(new byte[0], "t", 0, 0));
    }

    @Test
    void theSinkRefusesNonFiniteNumbersAndUnpairedSurrogatesWithIngestsWordsOnEveryPath() throws Exception {
        RowEncoder everything = new RowEncoder(EVERYTHING, JSON);
        String valid = "\"s\":\"a\",\"i\":1,\"l\":2,\"f\":1.5,\"b\":true,\"t\":0,\"d\":\"2024-01-31\"";
        Map<String, String> refused = Map.of(
                "{" + valid.replace("\"f\":1.5", "\"f\":1e400") + "}", "field 'f': expected a finite number",
                "{" + valid.replace("\"f\":1.5", "\"f\":-1" + "0".repeat(400)) + "}", "field 'f': expected a finite number",
                "{" + valid.replace("\"s\":\"a\"", "\"s\":\"x\\ud800y\"") + "}", "field 's': not valid Unicode: an unpaired surrogate \\ud800 at character 1",
                "{" + valid.replace("\"s\":\"a\"", "\"s\":\"\\udc00\"") + "}", "field 's': not valid Unicode: an unpaired surrogate \\udc00 at character 0");
        for (Map.Entry<String, String> record : refused.entrySet()) {
            byte[] bytes = record.getKey().getBytes(StandardCharsets.UTF_8);
            assertFalse(everything.encodeStreaming(bytes, "t", 0, 0, new ByteArrayBuilder()), record.getKey());
            assertFalse(everything.encodeTabSeparatedStreaming(bytes, "t", 0, 0, new ByteArrayBuilder()), record.getKey());
            for (var encode : List.<org.junit.jupiter.api.function.Executable>of(
                    () -> everything.encode(bytes, "t", 0, 0), () -> everything.encodeTabSeparated(bytes, "t", 0, 0))) {
                var error = assertThrows(RowEncoder.InvalidRecordException.class, encode, record.getKey());
                assertTrue(error.getMessage().contains(record.getValue()), error.getMessage());
            }
        }
        // The largest finite double and a valid surrogate pair (an emoji) still stream.
        String edge = "{" + valid.replace("\"f\":1.5", "\"f\":1.7976931348623157e308").replace("\"s\":\"a\"", "\"s\":\"\\ud83d\\ude00\"") + "}";
        assertTrue(everything.encodeStreaming(edge.getBytes(StandardCharsets.UTF_8), "t", 0, 0, new ByteArrayBuilder()));
    }

    @Test
    void aRecordNestedDeeperThanAnyValidOneIsRefusedWithoutOverflowingTheStack() {
        byte[] deep = ("{\"id\":" + "[".repeat(200_000) + "]".repeat(200_000) + "}").getBytes(StandardCharsets.UTF_8);
        var error = assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encode(deep, "t", 0, 0));
        assertTrue(error.getMessage().contains("deeper than 64 levels"), error.getMessage());
        assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encodeTabSeparated(deep, "t", 0, 0));
    }

    @Test
    void streamingAndTreeEncodingAcceptRejectAndWriteAlike() throws Exception {
        RowEncoder everything = new RowEncoder(EVERYTHING, JSON);
        Random random = new Random(SEED);
        int streamed = 0;
        int invalid = 0;
        for (int i = 0; i < RECORDS; i++) {
            int n = i;
            Generated record = generate(random);
            String context = new String(record.bytes, StandardCharsets.ISO_8859_1);
            EncodingOutcome viaTree = EncodingOutcome.of(() -> {
                ByteArrayBuilder out = new ByteArrayBuilder();
                everything.encodeViaTree(record.bytes, "topic", n % 3, n, out);
                return out.toByteArray();
            });
            EncodingOutcome encoded = EncodingOutcome.of(() -> everything.encode(record.bytes, "topic", n % 3, n));
            assertEquals(viaTree.error(), encoded.error(), context);
            if (viaTree.error() != null) {
                invalid++;
                continue;
            }
            assertEquals(fieldTexts(viaTree.row()), fieldTexts(encoded.row()), context);
            ByteArrayBuilder out = new ByteArrayBuilder();
            boolean tookIt = everything.encodeStreaming(record.bytes, "topic", n % 3, n, out);
            if (!record.unusual) {
                assertTrue(tookIt, "a plain valid record is streamed: " + context);
            }
            if (tookIt) {
                streamed++;
                assertArrayEquals(encoded.row(), out.toByteArray(), context);
            } else {
                assertEquals(0, out.size(), "a record left to the tree path leaves nothing behind: " + context);
            }
        }
        // The generator must exercise both sides substantially for the comparison to mean anything.
        assertTrue(streamed > RECORDS / 3, "streamed " + streamed);
        assertTrue(invalid > RECORDS / 5, "invalid " + invalid);
    }

    @Test
    void streamingWritesEachValueAsTheTreeWouldIncludingNumberText() throws Exception {
        RowEncoder everything = new RowEncoder(EVERYTHING, JSON);
        String record = """
                {"f": 1.50, "nf": 1e2, "l": -0, "i": 2147483647, "b": false, "t": 1706702407, "nt": "2024-02-29 23:59:59.999",
                 "d": "2105-12-31", "s": "\\u00e9\\"\\\\\\n\\u0001\\ud83d\\ude00 中"}""";
        String line = new String(everything.encode(record.getBytes(StandardCharsets.UTF_8), "t", 0, 1), StandardCharsets.UTF_8);
        assertTrue(line.startsWith("{\"f\":1.5,\"nf\":100.0,\"l\":0,\"i\":2147483647,\"b\":0,\"t\":\"2024-01-31 12:00:07\","
                + "\"nt\":\"2024-02-29 23:59:59\",\"d\":\"2105-12-31\","), line);
        assertEquals(fieldTexts(viaTree(everything, record)), fieldTexts(line.getBytes(StandardCharsets.UTF_8)));
        // Doubles beyond range would be Infinity: refused (as at ingest), no longer stored as "Infinity".
        String huge = "{\"f\": 1e400, \"s\": \"x\", \"i\": 1, \"l\": 123456789012345678, \"b\": true, \"t\": 0, \"d\": \"1970-01-01\"}";
        assertThrows(RowEncoder.InvalidRecordException.class, () -> everything.encode(huge.getBytes(StandardCharsets.UTF_8), "t", 0, 1));
    }

    @Test
    void anInvalidRecordLeavesTheBatchBufferAsItWas() throws Exception {
        ByteArrayBuilder out = new ByteArrayBuilder();
        byte[] valid = "{\"id\":\"a\",\"at\":0,\"ok\":true}".getBytes(StandardCharsets.UTF_8);
        encoder.encodeInto(valid, "t", 0, 0, out);
        int size = out.size();
        for (String bad : List.of("{\"id\":\"a\",\"at\":0,\"ok\":true,\"n\":\"x\"}", "{\"id\":\"a\",\"at\":0,\"ok\":1}",
                "{\"id\":\"a\",\"at\":0,\"ok\":true,\"extra\":1}", "{\"id\":\"a\",\"at\":-1,\"ok\":true}", "{\"id\":\"a\",")) {
            assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encodeInto(bad.getBytes(StandardCharsets.UTF_8), "t", 0, 1, out));
            assertEquals(size, out.size(), bad);
        }
        encoder.encodeInto(valid, "t", 0, 2, out);
        assertEquals(2, new String(out.toByteArray(), StandardCharsets.UTF_8).split("\n").length);
    }

    @Test
    void oneEncoderServesParallelSlicesAlike() throws Exception {
        RowEncoder everything = new RowEncoder(EVERYTHING, JSON);
        Random random = new Random(SEED);
        List<byte[]> records = new ArrayList<>();
        for (int n = 0; n < RECORDS / 10; n++) {
            records.add(generate(random).bytes);
        }
        EncodingOutcome.assertSameOnParallelThreads(records, rs -> encodeAll(everything, rs));
    }

    @Test
    void sinkStartsOneAboveTheHighWaterMarkOrAtTheBeginning() {
        var partitions = List.of(new TopicPartition("t", 0), new TopicPartition("t", 1));
        assertEquals(Map.of(partitions.get(0), 42L, partitions.get(1), 0L),
                TableSink.startOffsets(partitions, Map.of(0, 41L)));
    }

    @Test
    void watermarksParseClickhouseRows() {
        assertEquals(Map.of(0, 10L, 2, 5L), TableWatermarks.parse(List.of(List.of("0", "10"), List.of("2", "5"))));
    }

    private static List<EncodingOutcome> encodeAll(RowEncoder encoder, List<byte[]> records) {
        List<EncodingOutcome> outcomes = new ArrayList<>();
        for (int n = 0; n < records.size(); n++) {
            byte[] record = records.get(n);
            int offset = n;
            outcomes.add(EncodingOutcome.of(() -> encoder.encode(record, "topic", 0, offset)));
        }
        return outcomes;
    }

    private static byte[] viaTree(RowEncoder encoder, String record) throws Exception {
        ByteArrayBuilder out = new ByteArrayBuilder();
        encoder.encodeViaTree(record.getBytes(StandardCharsets.UTF_8), "t", 0, 1, out);
        return out.toByteArray();
    }

    /**
     * One JSONEachRow line as field name to token and exact value text: order-insensitive like
     * ClickHouse, but unlike a tree comparison it tells 1.5 from 1.50 and 100 from 100.0.
     */
    private static Map<String, String> fieldTexts(byte[] row) throws Exception {
        String text = new String(row, StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\n") && text.indexOf('\n') == text.length() - 1, "one line: " + text);
        Map<String, String> fields = new HashMap<>();
        try (JsonParser p = JSON.getFactory().createParser(row)) {
            assertEquals(JsonToken.START_OBJECT, p.nextToken());
            for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
                JsonToken value = p.nextToken();
                assertTrue(value.isScalarValue(), text);
                assertEquals(null, fields.put(name, value + " " + p.getText()), "no field twice: " + text);
            }
            assertEquals(null, p.nextToken());
        }
        return fields;
    }

    /** A generated record value; {@code unusual} when the streaming path may leave it to the tree path even if valid. */
    record Generated(byte[] bytes, boolean unusual) {
    }

    static Generated generate(Random r) {
        if (r.nextInt(40) == 0) {
            return new Generated(notAnObject(r), true);
        }
        boolean unusual = false;
        List<String[]> fields = new ArrayList<>();
        for (Column column : EVERYTHING.columns()) {
            boolean optional = column.nullable() || column.defaultValue().isPresent();
            if ((optional && r.nextInt(3) == 0) || r.nextInt(200) == 0) {
                continue;
            }
            String value = column.nullable() && r.nextInt(4) == 0 ? "null" : validValue(column.type(), r);
            fields.add(new String[]{column.name(), value});
        }
        Collections.shuffle(fields, r);
        String trailing = "";
        int mutation = r.nextInt(24);
        String[] victim = fields.isEmpty() ? new String[]{"s", "\"x\""} : fields.get(r.nextInt(fields.size()));
        Column victimColumn = EVERYTHING.column(victim[0]).orElseThrow();
        switch (mutation) {
            case 0, 1 -> victim[1] = invalidValue(victimColumn.type(), r);
            case 2 -> fields.add(r.nextInt(fields.size() + 1), new String[]{r.nextBoolean() ? "extra" : "S", "1"});
            case 3 -> {
                fields.add(r.nextInt(fields.size() + 1), new String[]{victim[0], r.nextBoolean() ? victim[1] : validValue(victimColumn.type(), r)});
                unusual = true;
            }
            case 4 -> victim[1] = r.nextBoolean() ? "{\"a\": 1}" : "[" + victim[1] + "]";
            case 5 -> victim[1] = "null";
            case 6 -> {
                trailing = new String[]{" x", "{}", " {\"s\":1}", "]", ",", " \n\t "}[r.nextInt(6)];
                unusual = !trailing.isBlank();
            }
            case 7 -> victim[0] = escapeAll(victim[0]);
            default -> {
                // valid as generated
            }
        }
        StringBuilder json = new StringBuilder(r.nextBoolean() ? "{" : " { ");
        for (int i = 0; i < fields.size(); i++) {
            json.append(i == 0 ? "" : r.nextBoolean() ? "," : " ,\n ").append(nameLiteral(fields.get(i)[0])).append(r.nextBoolean() ? ":" : " : ")
                    .append(fields.get(i)[1]);
        }
        json.append('}').append(trailing);
        byte[] bytes = json.toString().getBytes(StandardCharsets.UTF_8);
        if (r.nextInt(60) == 0) {
            bytes = Arrays.copyOf(bytes, r.nextInt(bytes.length));
        } else if (r.nextInt(60) == 0) {
            bytes[r.nextInt(bytes.length)] = (byte) r.nextInt(256);
            unusual = true;
        }
        return new Generated(bytes, unusual);
    }

    private static byte[] notAnObject(Random r) {
        String text = new String[]{"[1]", "\"s\"", "1", "null", "true", "", "   ", "{", "}", "{\"s\"}", "{\"s\":}", "nul"}[r.nextInt(12)];
        if (r.nextInt(4) == 0) {
            byte[] garbage = new byte[r.nextInt(20)];
            r.nextBytes(garbage);
            return garbage;
        }
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String validValue(ColumnType type, Random r) {
        return switch (type) {
            case STRING -> quote(randomText(r), r);
            case INT32 -> pick(r, String.valueOf(r.nextInt()), String.valueOf(r.nextInt(1000) - 500), "-0", "0",
                    String.valueOf(Integer.MAX_VALUE), String.valueOf(Integer.MIN_VALUE));
            case INT64 -> pick(r, String.valueOf(r.nextLong()), String.valueOf(r.nextInt()), "-0",
                    String.valueOf(Long.MAX_VALUE), String.valueOf(Long.MIN_VALUE), "2147483648");
            case FLOAT64 -> pick(r, String.valueOf(r.nextDouble() * Math.pow(10, r.nextInt(40) - 20)), String.valueOf(-r.nextDouble()),
                    "1.50", "1e2", "1E-5", "-0.0", "-0", "0", String.valueOf(r.nextInt()), String.valueOf(r.nextLong()),
                    "123456789012345678901234567890", "4.9e-325", "0.1000000000000000055511151231257827",
                    "123456789.123456789e-3", "3.0", "1.7976931348623157E308", "2.5e+10");
            case BOOLEAN -> pick(r, "true", "false");
            case DATETIME -> r.nextInt(4) == 0 ? epochSeconds(r) : quote(isoDateTime(r));
            case DATE -> quote(r.nextBoolean() ? isoDate(r)
                    : pick(r, "1970-01-01", "2105-12-31", "2024-02-29", "2000-02-29", "+12024-01-31"));
        };
    }

    private static String invalidValue(ColumnType type, Random r) {
        return switch (type) {
            // An unpaired surrogate, escaped: valid JSON, but no UTF-8 can store it.
            case STRING -> pick(r, "1", "true", "1.5", "{}", "[]", "\"x\\ud800\"", "\"\\udc00\"");
            case INT32 -> pick(r, "\"1\"", "1.0", "2147483648", "-2147483649", "1e2", "true", "9223372036854775807");
            case INT64 -> pick(r, "9223372036854775808", "-9223372036854775809", "1.5", "\"x\"", "false", "1e3");
            case FLOAT64 -> pick(r, "\"1\"", "true", "\"NaN\"", "NaN", "1e400", "-1e400");
            case BOOLEAN -> pick(r, "1", "\"true\"", "0", "\"false\"");
            case DATETIME -> pick(r, "1.5", "\"yesterday\"", "true", "-1", "\"2024-01-31\"", "4354819200",
                    "\"1969-12-31T23:59:59Z\"", "\"2106-01-01T00:00:00Z\"", "\"1970-01-01T00:30:00+01:00\"",
                    "\"2023-02-29T00:00:00Z\"", "\"2024-01-31T24:00:00Z\"", "\"2024-01-31T12:00:60Z\"",
                    "\"2024-01-31T12:00:00.1234567890Z\"", "\"2024-01-31T12:00:00+19:00\"", "\"2024-01-31 12:00:00Z\"",
                    "9223372036854775807", "92233720368547758070");
            case DATE -> pick(r, "20240131", "\"2024-02-30\"", "\"2023-02-29\"", "\"1969-12-31\"", "\"2106-01-01\"",
                    "\"2024-01-31T00:00:00Z\"", "\"2024-1-31\"");
        };
    }

    private static String epochSeconds(Random r) {
        long end = 4_354_819_200L;
        return String.valueOf(pick(r, (long) (r.nextDouble() * end), 0L, end - 1, (long) r.nextInt(Integer.MAX_VALUE), 951_782_400L));
    }

    private static String isoDateTime(Random r) {
        String time = String.format("%02d:%02d:%02d", r.nextInt(24), r.nextInt(60), r.nextInt(60));
        String fraction = r.nextBoolean() ? "" : "." + String.valueOf(r.nextLong() & Long.MAX_VALUE).substring(0, 1 + r.nextInt(9));
        String date = isoDate(r);
        return switch (r.nextInt(9)) {
            case 0, 1 -> date + "T" + time + fraction + "Z";
            case 2, 3 -> date + "T" + time + fraction + String.format("%s%02d:%02d", r.nextBoolean() ? "+" : "-", r.nextInt(19), r.nextInt(60));
            case 4 -> date + "T" + time + fraction;
            case 5 -> date + " " + time + fraction;
            case 6 -> pick(r, "1970-01-01T00:00:00Z", "2105-12-31T23:59:59.999999999Z", "1970-01-01T01:00:00+01:00",
                    "2106-01-01T00:59:59+01:00", "2024-02-29T12:00:00Z", "2000-02-29 00:00:00", "2104-02-29T23:59:59-18:00");
            case 7 -> pick(r, "2024-01-31T12:00Z", "2024-01-31t12:00:00z", "2024-01-31T12:00:00+05:30:15", "2024-01-31T12:00:00.Z",
                    "2024-01-31T12:00:00.", "2024-01-31T12:00:00-0530");
            default -> date + "T" + time + "Z";
        };
    }

    private static String isoDate(Random r) {
        int year = 1970 + r.nextInt(136);
        int month = 1 + r.nextInt(12);
        int day = 1 + r.nextInt(r.nextInt(5) == 0 ? 31 : 28);
        return String.format("%04d-%02d-%02d", year, month, day);
    }

    private static String randomText(Random r) {
        String[] pieces = {"a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\u0001", "\u00e9", "\u4e2d", "\ud83d\ude00", "/", "@", "\u2028"};
        StringBuilder text = new StringBuilder();
        for (int i = r.nextInt(12); i > 0; i--) {
            text.append(pieces[r.nextInt(pieces.length)]);
        }
        return text.toString();
    }

    private static String quote(String text) {
        try {
            return JSON.writeValueAsString(text);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** A JSON string literal, now and then with escapes where none are needed, or with a lone surrogate. */
    private static String quote(String text, Random r) {
        return switch (r.nextInt(8)) {
            case 0 -> "\"" + escapeAll(text) + "\"";
            case 1 -> "\"" + text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")
                    .replace("\t", "\\t").replace("\u0001", "\\u0001") + "\\ud83d\\ude00\"";
            default -> quote(text);
        };
    }

    /** A field name as JSON; one already escaped by escapeAll is taken as it is. */
    private static String nameLiteral(String name) {
        return name.startsWith("\\u") ? "\"" + name + "\"" : quote(name);
    }

    private static String escapeAll(String text) {
        StringBuilder escaped = new StringBuilder();
        text.chars().forEach(c -> escaped.append(String.format("\\u%04x", c)));
        return escaped.toString();
    }

    @SafeVarargs
    private static <T> T pick(Random r, T... choices) {
        return choices[r.nextInt(choices.length)];
    }
}
