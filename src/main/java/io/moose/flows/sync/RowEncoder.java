package io.moose.flows.sync;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import io.moose.flows.clickhouse.TableSchema;
import io.moose.flows.model.Column;
import io.moose.flows.model.ColumnType;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.RecordValidator;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns one Kafka record value into one JSONEachRow line of the version's table: validated against
 * the version, every column written explicitly (absent ones get their declared default, or null),
 * values converted to what ClickHouse reads on every version, and the source coordinates appended.
 *
 * <p>Encoding is the sink's main CPU cost, so the common record, a flat object of known columns with
 * valid scalar values, is streamed from the parser straight into the generator without a tree. Any
 * other record (invalid, or merely unusual, such as one with a duplicate field) is encoded through a
 * tree as before, which decides it and words its errors, so both ways accept and write the same.
 */
public final class RowEncoder {

    /** A record value that is not a valid record of the target version. */
    public static final class InvalidRecordException extends Exception {
        public InvalidRecordException(String message) {
            super(message);
        }
    }

    private static final byte NEWLINE = '\n';
    private static final SerializedString SOURCE_TOPIC = new SerializedString(TableSchema.SOURCE_TOPIC);
    private static final SerializedString SOURCE_PARTITION = new SerializedString(TableSchema.SOURCE_PARTITION);
    private static final SerializedString SOURCE_OFFSET = new SerializedString(TableSchema.SOURCE_OFFSET);
    private static final int INITIAL_ROW_BYTES = 512;
    /** A scratch row buffer grown beyond this (by a huge record) is dropped rather than kept by its thread. */
    private static final int MAX_RETAINED_ROW_BYTES = 64 * 1024;

    /**
     * The streamed row is written here first and copied to the caller's buffer only when complete,
     * since a record found irregular halfway must leave no trace. Per thread: one encoder serves the
     * sink's parallel encode slices.
     */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final ModelVersion version;
    private final ObjectMapper json;
    private final Column[] columns;
    private final Map<String, Integer> columnIndex = new HashMap<>();
    private final SerializedString[] names;
    /** What the tree path writes for an absent column (NullNode for null), or null where absence fails validation. */
    private final JsonNode[] absentValues;
    /** Streaming reads numbers as the tree does only with the mapper's default number features. */
    private final boolean streams;

    public RowEncoder(ModelVersion version, ObjectMapper json) {
        this.version = version;
        this.json = json;
        this.columns = version.columns().toArray(Column[]::new);
        this.names = new SerializedString[columns.length];
        this.absentValues = new JsonNode[columns.length];
        for (int i = 0; i < columns.length; i++) {
            columnIndex.put(columns[i].name(), i);
            names[i] = new SerializedString(columns[i].name());
            absentValues[i] = absentValue(columns[i]);
        }
        this.streams = !json.isEnabled(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
                && !json.isEnabled(DeserializationFeature.USE_LONG_FOR_INTS)
                && !json.isEnabled(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    }

    public byte[] encode(byte[] value, String topic, int partition, long offset) throws InvalidRecordException {
        ByteArrayBuilder out = new ByteArrayBuilder(value.length + 64);
        encodeInto(value, topic, partition, offset, out);
        return out.toByteArray();
    }

    /**
     * Appends the row to {@code out}, so a batch is encoded into one buffer instead of one array per
     * row copied again. An invalid record throws before anything is written.
     */
    public void encodeInto(byte[] value, String topic, int partition, long offset, ByteArrayBuilder out)
            throws InvalidRecordException {
        if (!streams || !encodeStreaming(value, topic, partition, offset, out)) {
            encodeViaTree(value, topic, partition, offset, out);
        }
    }

    /**
     * The streaming encoding: true when the row was appended to {@code out}, false (with nothing
     * written) when the record is anything but a flat object of distinct known columns with valid
     * values, or when parsing or writing fails: the tree path then decides it.
     */
    boolean encodeStreaming(byte[] value, String topic, int partition, long offset, ByteArrayBuilder out) {
        Scratch scratch = SCRATCH.get();
        scratch.start(columns.length);
        try {
            try (JsonParser p = json.getFactory().createParser(value);
                 JsonGenerator g = json.getFactory().createGenerator(scratch.row)) {
                // As readTree does, so mapper-level parser settings apply alike.
                json.getDeserializationConfig().initialize(p);
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    return false;
                }
                g.writeStartObject();
                boolean[] seen = scratch.seen;
                for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
                    Integer index = columnIndex.get(name);
                    if (index == null || seen[index]) {
                        return false;
                    }
                    seen[index] = true;
                    g.writeFieldName(names[index]);
                    if (!copyValue(p, columns[index], g, scratch)) {
                        return false;
                    }
                }
                // readTree ignores what follows the object; streaming leaves such a record to it.
                if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                    return false;
                }
                for (int i = 0; i < columns.length; i++) {
                    if (!seen[i]) {
                        if (absentValues[i] == null) {
                            return false;
                        }
                        g.writeFieldName(names[i]);
                        writeAbsent(g, absentValues[i]);
                    }
                }
                g.writeFieldName(SOURCE_TOPIC);
                g.writeString(topic);
                g.writeFieldName(SOURCE_PARTITION);
                g.writeNumber(partition);
                g.writeFieldName(SOURCE_OFFSET);
                g.writeNumber(offset);
                g.writeEndObject();
            }
        } catch (IOException e) {
            return false;
        }
        scratch.row.write(NEWLINE);
        scratch.row.copyTo(out);
        return true;
    }

    /**
     * Writes the current field's value as the tree path would write it, or returns false when the
     * tree path might not accept it or might write it differently.
     */
    private static boolean copyValue(JsonParser p, Column column, JsonGenerator g, Scratch scratch) throws IOException {
        JsonToken token = p.nextToken();
        ColumnType type = column.type();
        switch (token) {
            case VALUE_NULL:
                if (!column.nullable()) {
                    return false;
                }
                g.writeNull();
                return true;
            case VALUE_STRING:
                return copyString(p, type, g, scratch);
            case VALUE_NUMBER_INT:
                return copyInteger(p, type, g, scratch);
            case VALUE_NUMBER_FLOAT:
                // The tree keeps a double and writes it back, so the same double is written here.
                if (type != ColumnType.FLOAT64 || p.getNumberType() != JsonParser.NumberType.DOUBLE) {
                    return false;
                }
                g.writeNumber(p.getDoubleValue());
                return true;
            case VALUE_TRUE:
            case VALUE_FALSE:
                if (type != ColumnType.BOOLEAN) {
                    return false;
                }
                g.writeNumber(token == JsonToken.VALUE_TRUE ? 1 : 0);
                return true;
            default:
                return false;
        }
    }

    private static boolean copyString(JsonParser p, ColumnType type, JsonGenerator g, Scratch scratch) throws IOException {
        char[] text = p.getTextCharacters();
        int from = p.getTextOffset();
        int length = p.getTextLength();
        switch (type) {
            case STRING:
                g.writeString(text, from, length);
                return true;
            case DATE:
                if (!ColumnType.isStorableDate(text, from, length)) {
                    return false;
                }
                g.writeString(text, from, length);
                return true;
            case DATETIME:
                return writeDateTime(ColumnType.storableDateTime(text, from, length), g, scratch);
            default:
                return false;
        }
    }

    /** Integers are written from the int or long the tree would hold, which prints the same digits. */
    private static boolean copyInteger(JsonParser p, ColumnType type, JsonGenerator g, Scratch scratch) throws IOException {
        JsonParser.NumberType numberType = p.getNumberType();
        boolean fitsInt = numberType == JsonParser.NumberType.INT;
        boolean fitsLong = fitsInt || numberType == JsonParser.NumberType.LONG;
        switch (type) {
            case INT32:
                if (!fitsInt) {
                    return false;
                }
                g.writeNumber(p.getIntValue());
                return true;
            case INT64:
            case FLOAT64:
                if (fitsInt) {
                    g.writeNumber(p.getIntValue());
                } else if (fitsLong) {
                    g.writeNumber(p.getLongValue());
                } else if (type == ColumnType.FLOAT64) {
                    g.writeNumber(p.getBigIntegerValue());
                } else {
                    return false;
                }
                return true;
            case DATETIME:
                if (!fitsLong) {
                    return false;
                }
                long seconds = p.getLongValue();
                return ColumnType.isStorableDateTime(seconds) && writeDateTime(seconds, g, scratch);
            default:
                return false;
        }
    }

    private static boolean writeDateTime(long seconds, JsonGenerator g, Scratch scratch) throws IOException {
        if (seconds == ColumnType.NOT_A_DATE_TIME) {
            return false;
        }
        ColumnType.writeClickhouseDateTime(seconds, scratch.dateTime);
        g.writeString(scratch.dateTime, 0, ColumnType.CLICKHOUSE_DATE_TIME_LENGTH);
        return true;
    }

    /**
     * What the tree path writes for the column when the record lacks it, or null when it rejects
     * such a record (or the default cannot be converted, which the tree path then reports as before).
     */
    private static JsonNode absentValue(Column column) {
        JsonNode declared = column.defaultValue().orElse(null);
        if (declared == null && !column.nullable()) {
            return null;
        }
        if (declared == null || declared.isNull()) {
            return NullNode.getInstance();
        }
        try {
            return column.type().toClickhouseJson(declared);
        } catch (RuntimeException unconvertible) {
            return null;
        }
    }

    /**
     * The tree-based encoding: the reference for what is accepted and written, and the way every
     * record the streaming encoding does not take is encoded.
     */
    void encodeViaTree(byte[] value, String topic, int partition, long offset, ByteArrayBuilder out)
            throws InvalidRecordException {
        JsonNode record;
        try {
            record = json.readTree(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidRecordException("not JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (record == null) {
            throw new InvalidRecordException("empty value");
        }
        List<RecordValidator.Problem> problems = RecordValidator.validate(record, version);
        if (!problems.isEmpty()) {
            throw new InvalidRecordException("not a valid " + version.ref() + " record: " + problems);
        }
        try (JsonGenerator g = json.getFactory().createGenerator(out)) {
            g.writeStartObject();
            for (Column column : version.columns()) {
                g.writeFieldName(column.name());
                JsonNode v = record.get(column.name());
                if (v == null || v.isMissingNode()) {
                    v = column.defaultValue().orElse(null);
                }
                if (v == null || v.isNull()) {
                    g.writeNull();
                } else {
                    JsonNode converted = column.type().toClickhouseJson(v);
                    if (converted.isTextual()) {
                        // Strings (and converted DateTimes) are most columns: skip the tree serializer for them.
                        g.writeString(converted.textValue());
                    } else {
                        json.writeTree(g, converted);
                    }
                }
            }
            g.writeStringField(TableSchema.SOURCE_TOPIC, topic);
            g.writeNumberField(TableSchema.SOURCE_PARTITION, partition);
            g.writeNumberField(TableSchema.SOURCE_OFFSET, offset);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.write(NEWLINE);
    }

    /** Writes an absent column's value exactly as the tree path writes it. */
    private void writeAbsent(JsonGenerator g, JsonNode converted) throws IOException {
        if (converted.isNull()) {
            g.writeNull();
        } else if (converted.isTextual()) {
            g.writeString(converted.textValue());
        } else {
            json.writeTree(g, converted);
        }
    }

    /** One thread's reusable buffers for streaming a row. */
    private static final class Scratch {
        final RowBuffer row = new RowBuffer();
        boolean[] seen = new boolean[0];
        final char[] dateTime = new char[ColumnType.CLICKHOUSE_DATE_TIME_LENGTH];

        void start(int columns) {
            row.reset();
            if (seen.length < columns) {
                seen = new boolean[columns];
            } else {
                Arrays.fill(seen, 0, columns, false);
            }
        }
    }

    /** A reusable byte buffer for one row: unlike ByteArrayOutputStream, unsynchronised and readable in place. */
    private static final class RowBuffer extends OutputStream {
        private byte[] bytes = new byte[INITIAL_ROW_BYTES];
        private int size;

        @Override
        public void write(int b) {
            ensure(1);
            bytes[size++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            ensure(len);
            System.arraycopy(b, off, bytes, size, len);
            size += len;
        }

        void copyTo(ByteArrayBuilder out) {
            out.write(bytes, 0, size);
        }

        void reset() {
            size = 0;
            if (bytes.length > MAX_RETAINED_ROW_BYTES) {
                bytes = new byte[INITIAL_ROW_BYTES];
            }
        }

        private void ensure(int more) {
            if (size + more > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
            }
        }
    }
}
