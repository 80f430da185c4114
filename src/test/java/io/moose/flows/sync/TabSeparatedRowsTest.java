package io.moose.flows.sync;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.clickhouse.TableSchema;
import io.moose.flows.model.ColumnType;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.moose.flows.sync.RowEncoderTest.EVERYTHING;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** TabSeparated rows accept the records JSONEachRow lines accept and hold, field by field, what those lines hold. */
class TabSeparatedRowsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long SEED = 424242L;
    private static final int RECORDS = 8_000;
    /** Stands for NULL in the compared field lists; no generated string spells it. */
    private static final String NULL = "<NULL>";

    private final RowEncoder encoder = new RowEncoder(EVERYTHING, JSON);
    private final List<String> columns = List.copyOf(TableSchema.columns(EVERYTHING).keySet());

    @Test
    void columnsAreInTableOrder() {
        assertEquals(columns, encoder.columnNames());
    }

    @Test
    void everyGeneratedRecordIsAcceptedAsForJsonAndStoresTheSameFields() throws Exception {
        Random random = new Random(SEED);
        int streamed = 0;
        int invalid = 0;
        for (int n = 0; n < RECORDS; n++) {
            int offset = n;
            RowEncoderTest.Generated record = RowEncoderTest.generate(random);
            String context = new String(record.bytes(), StandardCharsets.ISO_8859_1);
            EncodingOutcome json = EncodingOutcome.of(() -> {
                ByteArrayBuilder out = new ByteArrayBuilder();
                encoder.encodeViaTree(record.bytes(), "topic", offset % 3, offset, out);
                return out.toByteArray();
            });
            EncodingOutcome tsv = EncodingOutcome.of(() -> encoder.encodeTabSeparated(record.bytes(), "topic", offset % 3, offset));
            EncodingOutcome tsvTree = EncodingOutcome.of(() -> {
                ByteArrayBuilder out = new ByteArrayBuilder();
                encoder.encodeTabSeparatedViaTree(record.bytes(), "topic", offset % 3, offset, out);
                return out.toByteArray();
            });
            assertEquals(json.error(), tsv.error(), context);
            assertEquals(json.error(), tsvTree.error(), context);
            if (json.error() != null) {
                invalid++;
                continue;
            }
            assertEquals(storedByJson(json.row()), storedByTabSeparated(tsv.row()), context);
            assertArrayEquals(tsvTree.row(), tsv.row(), "streaming and tree write the same line: " + context);
            ByteArrayBuilder out = new ByteArrayBuilder();
            if (encoder.encodeTabSeparatedStreaming(record.bytes(), "topic", offset % 3, offset, out)) {
                streamed++;
                assertArrayEquals(tsv.row(), out.toByteArray(), context);
            } else {
                assertTrue(record.unusual(), "a plain valid record is streamed: " + context);
                assertEquals(0, out.size(), "a record left to the tree path leaves nothing behind: " + context);
            }
        }
        assertTrue(streamed > RECORDS / 3, "streamed " + streamed);
        assertTrue(invalid > RECORDS / 5, "invalid " + invalid);
    }

    @Test
    void writesEveryColumnInTableOrderEscapedAsTheFormatNeeds() throws Exception {
        String record = """
                {"s": "tab\\there\\nnew\\rcr\\\\back'quote\\"dq\\u0000nul\\b\\f", "ns": "\\\\N", "i": -2147483648,
                 "l": -9223372036854775808, "f": 1.7976931348623157E308, "nf": -4.9e-324, "b": true, "t": "2024-01-31T12:00:07+01:00",
                 "d": "2024-02-29", "ni": null, "nl": 0, "region": "", "day": "1970-01-01", "since": 1706702407}""";
        String line = new String(encoder.encodeTabSeparated(record.getBytes(StandardCharsets.UTF_8), "topic", 1, 42),
                StandardCharsets.UTF_8);
        assertEquals(String.join("\t",
                "tab\\there\\nnew\\rcr\\\\back'quote\"dq\\0nul\\b\\f", "-2147483648", "-9223372036854775808",
                float64Bits("1.7976931348623157E308"), "1", "2024-01-31 11:00:07", "2024-02-29", "\\\\N", "\\N", "0",
                float64Bits("-4.9E-324"), "\\N", "\\N", "2000-02-29", "", "1", "2024-01-31 12:00:07", "1970-01-01 00:00:00", "7", "-3",
                float64Bits("0.25"), "1970-01-01", "topic", "1", "42") + "\n", line);
    }

    @Test
    void writesUnicodeAsClickhouseDecodesTheJsonEscapesAndRefusesUnpairedSurrogatesAsIngestDoes() throws Exception {
        String record = "{\"s\": \"\\ud83d\\ude00é中\\u2028x\", \"i\": 1, \"l\": 2, \"f\": 0.25, \"b\": false,"
                + " \"t\": 0, \"d\": \"2024-01-31\"}";
        byte[] line = encoder.encodeTabSeparated(record.getBytes(StandardCharsets.UTF_8), "topic", 0, 0);
        byte[] expected = concat("\uD83D\uDE00é中\u2028".getBytes(StandardCharsets.UTF_8), new byte[]{'x', '\t'});
        assertArrayEquals(expected, java.util.Arrays.copyOf(line, expected.length));
        // A lone surrogate has no UTF-8 form: refused, as ingest refuses it (it used to be stored as CESU-8 bytes).
        String lone = record.replace("x\"", "\\udc00x\"");
        RowEncoder.InvalidRecordException refused = assertThrows(RowEncoder.InvalidRecordException.class,
                () -> encoder.encodeTabSeparated(lone.getBytes(StandardCharsets.UTF_8), "topic", 0, 0));
        assertTrue(refused.getMessage().contains("unpaired surrogate \\udc00"), refused.getMessage());
    }

    @Test
    void anInvalidRecordThrowsTheJsonMessageAndLeavesTheBatchBufferAsItWas() throws Exception {
        ByteArrayBuilder out = new ByteArrayBuilder();
        byte[] valid = "{\"s\":\"a\",\"i\":1,\"l\":1,\"f\":1,\"b\":true,\"t\":0,\"d\":\"2024-01-31\"}".getBytes(StandardCharsets.UTF_8);
        encoder.encodeTabSeparatedInto(valid, "t", 0, 0, out);
        int size = out.size();
        for (String bad : List.of("{\"s\":\"a\",\"i\":1,\"l\":1,\"f\":1,\"b\":1,\"t\":0,\"d\":\"2024-01-31\"}",
                "{\"s\":\"a\",\"i\":1,\"l\":1,\"f\":1,\"b\":true,\"t\":-1,\"d\":\"2024-01-31\"}",
                "{\"s\":\"a\",\"i\":1,\"l\":1,\"f\":1,\"b\":true,\"t\":0,\"d\":\"2024-01-31\",\"extra\":1}", "{\"s\":\"a\",", "")) {
            byte[] bytes = bad.getBytes(StandardCharsets.UTF_8);
            var viaJson = assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encode(bytes, "t", 0, 1));
            var viaTsv = assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encodeTabSeparatedInto(bytes, "t", 0, 1, out));
            assertEquals(viaJson.getMessage(), viaTsv.getMessage());
            assertEquals(size, out.size(), bad);
        }
        encoder.encodeTabSeparatedInto(valid, "t", 0, 2, out);
        assertEquals(2, new String(out.toByteArray(), StandardCharsets.UTF_8).split("\n").length);
    }

    @Test
    void oneEncoderServesParallelSlicesAlike() throws Exception {
        Random random = new Random(SEED);
        List<byte[]> records = new ArrayList<>();
        for (int n = 0; n < RECORDS / 10; n++) {
            records.add(RowEncoderTest.generate(random).bytes());
        }
        EncodingOutcome.assertSameOnParallelThreads(records, rs -> encodeAll(rs));
    }

    private List<EncodingOutcome> encodeAll(List<byte[]> records) {
        List<EncodingOutcome> outcomes = new ArrayList<>();
        for (int n = 0; n < records.size(); n++) {
            byte[] record = records.get(n);
            int offset = n;
            outcomes.add(EncodingOutcome.of(() -> encoder.encodeTabSeparated(record, "topic", 0, offset)));
        }
        return outcomes;
    }

    /**
     * Per table column, the bytes ClickHouse stores from a JSONEachRow line (written in table order by
     * the tree path), as ISO-8859-1 text for readable failures: strings as ClickHouse decodes JSON
     * escapes, numbers as their text (ClickHouse parses the same text either way), NULL as {@link #NULL}.
     */
    private List<String> storedByJson(byte[] row) throws Exception {
        List<String> fields = new ArrayList<>();
        try (JsonParser p = JSON.getFactory().createParser(row)) {
            assertEquals(JsonToken.START_OBJECT, p.nextToken());
            for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
                assertEquals(columns.get(fields.size()), name, "the JSON line is in table order");
                JsonToken value = p.nextToken();
                boolean isFloat64 = EVERYTHING.column(name).map(c -> c.type() == ColumnType.FLOAT64).orElse(false);
                if (value == JsonToken.VALUE_NULL) {
                    fields.add(NULL);
                } else if (isFloat64) {
                    // A number, or a non-finite double the JSON path writes as the string Infinity or NaN.
                    fields.add(float64Bits(p.getText()));
                } else if (value == JsonToken.VALUE_STRING) {
                    fields.add(new String(clickhouseUtf8(p.getText()), StandardCharsets.ISO_8859_1));
                } else {
                    assertTrue(value.isNumeric(), name + " " + value);
                    fields.add(p.getText());
                }
            }
        }
        return fields;
    }

    /** A Float64 as the sink sends it: the bits of the double the text reads as (the ingress converts them back). */
    private static String float64Bits(String number) {
        return Long.toUnsignedString(Double.doubleToLongBits(Double.parseDouble(number)));
    }

    /** What ClickHouse stores for a JSON string: UTF-8 by code point, a lone surrogate as its own three bytes. */
    private static byte[] clickhouseUtf8(String text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        // codePoints() yields a lone surrogate as itself, which this encodes as any other three-byte code point.
        text.codePoints().forEach(c -> {
            if (c < 0x80) {
                out.write(c);
            } else if (c < 0x800) {
                out.write(0xC0 | c >> 6);
                out.write(0x80 | c & 0x3F);
            } else if (c < 0x10000) {
                out.write(0xE0 | c >> 12);
                out.write(0x80 | c >> 6 & 0x3F);
                out.write(0x80 | c & 0x3F);
            } else {
                out.write(0xF0 | c >> 18);
                out.write(0x80 | c >> 12 & 0x3F);
                out.write(0x80 | c >> 6 & 0x3F);
                out.write(0x80 | c & 0x3F);
            }
        });
        return out.toByteArray();
    }

    /** One TabSeparated line read back as ClickHouse reads it: fields unescaped to their bytes, {@code \N} as NULL. */
    static List<String> storedByTabSeparated(byte[] row) {
        String line = new String(row, StandardCharsets.ISO_8859_1);
        assertTrue(line.endsWith("\n") && line.indexOf('\n') == line.length() - 1, "one line: " + line);
        List<String> fields = new ArrayList<>();
        for (String field : line.substring(0, line.length() - 1).split("\t", -1)) {
            fields.add(field.equals("\\N") ? NULL : unescape(field));
        }
        return fields;
    }

    private static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c != '\\') {
                out.append(c);
                continue;
            }
            assertTrue(i + 1 < field.length(), "a field does not end in a lone backslash: " + field);
            char next = field.charAt(++i);
            out.append(switch (next) {
                case 't' -> '\t';
                case 'n' -> '\n';
                case 'r' -> '\r';
                case '0' -> '\0';
                case 'b' -> '\b';
                case 'f' -> '\f';
                case '\\', '\'' -> next;
                default -> throw new AssertionError("unexpected escape \\" + next + " in " + field);
            });
        }
        return out.toString();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }
}
