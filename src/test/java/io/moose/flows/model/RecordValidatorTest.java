package io.moose.flows.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecordValidatorTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final ModelVersion VERSION = new ModelVersion(new VersionRef("Everything", "1.0"), List.of(
            new Column("s", ColumnType.STRING, false, Optional.empty()),
            new Column("i", ColumnType.INT32, false, Optional.empty()),
            new Column("l", ColumnType.INT64, false, Optional.empty()),
            new Column("f", ColumnType.FLOAT64, false, Optional.empty()),
            new Column("b", ColumnType.BOOLEAN, false, Optional.empty()),
            new Column("t", ColumnType.DATETIME, false, Optional.empty()),
            new Column("d", ColumnType.DATE, false, Optional.empty()),
            new Column("maybe", ColumnType.STRING, true, Optional.empty()),
            new Column("region", ColumnType.STRING, false, Optional.of(TextNode.valueOf("unknown")))),
            List.of("t"));

    private static final String VALID = """
            {"s": "x", "i": 2147483647, "l": 9223372036854775807, "f": 1.5, "b": true,
             "t": "2024-01-31T12:00:00Z", "d": "2024-01-31", "maybe": null, "region": "eu"}""";

    @Test
    void aRecordWithEveryTypeRightHasNoProblem() {
        assertEquals(List.of(), problems(VALID));
    }

    @Test
    void nullableAndDefaultedColumnsMayBeOmitted() {
        assertEquals(List.of(), problems(with("maybe", null, with("region", null, VALID))));
    }

    @Test
    void everyWrongTypeIsNamedByField() {
        List<RecordValidator.Problem> found = problems("""
                {"s": 1, "i": 2147483648, "l": 1.5, "f": "1", "b": 1, "t": "yesterday", "d": "31/01/2024"}""");
        assertEquals(List.of("s", "i", "l", "f", "b", "t", "d"), found.stream().map(RecordValidator.Problem::field).toList());
        assertTrue(found.get(0).message().contains("expected a string, got number 1"), found.get(0).message());
        assertTrue(found.get(1).message().contains("between -2^31 and 2^31-1"), found.get(1).message());
    }

    @Test
    void aMissingRequiredFieldIsNamed() {
        List<RecordValidator.Problem> found = problems(with("l", null, VALID));
        assertEquals(1, found.size());
        assertEquals("l", found.get(0).field());
        assertTrue(found.get(0).message().startsWith("missing"), found.get(0).message());
    }

    @Test
    void anUnknownFieldIsNamed() {
        List<RecordValidator.Problem> found = problems(VALID.replace("{", "{\"extra\": 1, "));
        assertEquals(List.of(new RecordValidator.Problem("extra", "unknown field; Everything/1.0 has no such column")), found);
    }

    @Test
    void nullIsRejectedForANonNullableColumnEvenWithADefault() {
        List<RecordValidator.Problem> found = problems(VALID.replace("\"region\": \"eu\"", "\"region\": null"));
        assertEquals("region", found.get(0).field());
        assertTrue(found.get(0).message().contains("null is not allowed"), found.get(0).message());
    }

    @Test
    void dateTimeAcceptsIsoWithZoneWithoutZoneWithSpaceAndEpochSeconds() {
        for (String t : List.of("\"2024-01-31T12:00:00Z\"", "\"2024-01-31T12:00:00+02:00\"", "\"2024-01-31T12:00:00.250Z\"",
                "\"2024-01-31T12:00:00\"", "\"2024-01-31 12:00:00\"", "1706702400", "0")) {
            assertEquals(List.of(), problems(VALID.replace("\"2024-01-31T12:00:00Z\"", t)), t);
        }
    }

    @Test
    void dateTimeAndDateOutsideWhatClickHouseStoresAreRejected() {
        for (String t : List.of("\"1969-12-31T23:59:59Z\"", "-1", "\"2106-01-01T00:00:00Z\"", "\"2024-01-31\"", "1.5")) {
            List<RecordValidator.Problem> found = problems(VALID.replace("\"2024-01-31T12:00:00Z\"", t));
            assertEquals(List.of("t"), found.stream().map(RecordValidator.Problem::field).toList(), t);
        }
        for (String d : List.of("\"1969-12-31\"", "\"2106-01-01\"", "\"2024-02-30\"", "20240131")) {
            List<RecordValidator.Problem> found = problems(VALID.replace("\"2024-01-31\"", d));
            assertEquals(List.of("d"), found.stream().map(RecordValidator.Problem::field).toList(), d);
        }
    }

    @Test
    void aNonObjectRecordIsOneProblemWithoutField() {
        assertEquals(List.of(new RecordValidator.Problem("", "expected a JSON object, got array")), problems("[1]"));
    }

    @Test
    void dateTimeIsWrittenForClickHouseAsUtcText() {
        assertEquals("2024-01-31 10:00:00",
                ColumnType.DATETIME.toClickhouseJson(TextNode.valueOf("2024-01-31T12:00:00+02:00")).asText());
        assertEquals("2024-01-31 12:00:00", ColumnType.DATETIME.toClickhouseJson(JSON.getNodeFactory().numberNode(1706702400L)).asText());
    }

    private static List<RecordValidator.Problem> problems(String json) {
        try {
            JsonNode record = JSON.readTree(json);
            return RecordValidator.validate(record, VERSION);
        } catch (Exception e) {
            throw new AssertionError(json, e);
        }
    }

    /** The record with one field removed (value null) -- used to test omissions. */
    private static String with(String field, String value, String json) {
        try {
            var node = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(json);
            if (value == null) {
                node.remove(field);
            } else {
                node.put(field, value);
            }
            return JSON.writeValueAsString(node);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
