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
import io.moose.flows.model.JsonText;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.RecordValidator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns one Kafka record value into one row of the version's table: validated against the version,
 * every column written explicitly (absent ones get their declared default, or null), values converted
 * to what ClickHouse reads on every version, and the source coordinates appended. The sink writes
 * TabSeparated rows ({@link #encodeTabSeparatedInto}), whose columns are in table order
 * ({@link #columnNames}) and which ClickHouse parses faster than JSON; JSONEachRow lines
 * ({@link #encodeInto}) store exactly the same values and remain the reference for them.
 *
 * <p>Encoding is the sink's main CPU cost, so the common record, a flat object of known columns with
 * valid scalar values, is streamed from the parser without a tree: into the generator for JSON, into
 * per-column slices reordered into table order for TabSeparated. Any other record (invalid, or merely
 * unusual, such as one with a duplicate field) is encoded through a tree as before, which decides it
 * and words its errors, so every way accepts the same records and stores the same values.
 */
public final class RowEncoder {

    /** A record value that is not a valid record of the target version. */
    public static final class InvalidRecordException extends Exception {
        public InvalidRecordException(String message) {
            super(message);
        }
    }

    private static final byte NEWLINE = '\n';
    /** A valid record is flat (depth 1); deeper ones are refused before a tree is built for them. */
    private static final int MAX_NESTING_DEPTH = 64;
    private static final SerializedString SOURCE_TOPIC = new SerializedString(TableSchema.SOURCE_TOPIC);
    private static final SerializedString SOURCE_PARTITION = new SerializedString(TableSchema.SOURCE_PARTITION);
    private static final SerializedString SOURCE_OFFSET = new SerializedString(TableSchema.SOURCE_OFFSET);

    /**
     * The streamed row (or, for TabSeparated, its fields) is written here first and copied to the
     * caller's buffer only when complete, since a record found irregular halfway must leave no trace. Per thread: one encoder serves the
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
    /** The same as TabSeparated fields, null where absentValues is. */
    private final byte[][] absentFields;
    private final List<String> columnNames;
    /** Streaming reads numbers as the tree does only with the mapper's default number features. */
    private final boolean streams;

    public RowEncoder(ModelVersion version, ObjectMapper json) {
        this.version = version;
        this.json = json;
        this.columns = version.columns().toArray(Column[]::new);
        this.names = new SerializedString[columns.length];
        this.absentValues = new JsonNode[columns.length];
        this.absentFields = new byte[columns.length][];
        for (int i = 0; i < columns.length; i++) {
            columnIndex.put(columns[i].name(), i);
            names[i] = new SerializedString(columns[i].name());
            absentValues[i] = absentValue(columns[i]);
            if (absentValues[i] != null) {
                RowBuffer field = new RowBuffer();
                writeField(columns[i], absentValues[i], field);
                absentFields[i] = field.toByteArray();
            }
        }
        this.columnNames = List.copyOf(TableSchema.columns(version).keySet());
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

    /** The table's columns in the order a TabSeparated row holds them: the model's, then the source coordinates. */
    public List<String> columnNames() {
        return columnNames;
    }

    public byte[] encodeTabSeparated(byte[] value, String topic, int partition, long offset) throws InvalidRecordException {
        ByteArrayBuilder out = new ByteArrayBuilder(value.length + 64);
        encodeTabSeparatedInto(value, topic, partition, offset, out);
        return out.toByteArray();
    }

    /**
     * Appends the row as one TabSeparated line, fields in {@link #columnNames} order, storing what
     * the JSONEachRow line would. An invalid record throws (with the JSON path's message) before
     * anything is written.
     */
    public void encodeTabSeparatedInto(byte[] value, String topic, int partition, long offset, ByteArrayBuilder out)
            throws InvalidRecordException {
        if (!streams || !encodeTabSeparatedStreaming(value, topic, partition, offset, out)) {
            encodeTabSeparatedViaTree(value, topic, partition, offset, out);
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
                ValueSink values = new JsonValues(g);
                for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
                    Integer index = columnIndex.get(name);
                    if (index == null || seen[index]) {
                        return false;
                    }
                    seen[index] = true;
                    g.writeFieldName(names[index]);
                    if (!copyValue(p, columns[index], values, scratch)) {
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
                        writeStored(g, absentValues[i]);
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
     * The streaming TabSeparated encoding, answering as {@link #encodeStreaming} does. Fields come in
     * record order but go out in table order, so each value is written to the thread's scratch
     * buffer first and the row is assembled from those slices once the record proved regular.
     */
    boolean encodeTabSeparatedStreaming(byte[] value, String topic, int partition, long offset, ByteArrayBuilder out) {
        Scratch scratch = SCRATCH.get();
        scratch.start(columns.length);
        RowBuffer fields = scratch.row;
        boolean[] seen = scratch.seen;
        try (JsonParser p = json.getFactory().createParser(value)) {
            // As readTree does, so mapper-level parser settings apply alike.
            json.getDeserializationConfig().initialize(p);
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
                Integer index = columnIndex.get(name);
                if (index == null || seen[index]) {
                    return false;
                }
                seen[index] = true;
                scratch.fieldStarts[index] = fields.size();
                ValueSink sink = columns[index].type() == ColumnType.FLOAT64 ? scratch.float64Bits : scratch.tabSeparated;
                if (!copyValue(p, columns[index], sink, scratch)) {
                    return false;
                }
                scratch.fieldEnds[index] = fields.size();
            }
            // readTree ignores what follows the object; streaming leaves such a record to it.
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                return false;
            }
        } catch (IOException e) {
            return false;
        }
        for (int i = 0; i < columns.length; i++) {
            if (!seen[i] && absentFields[i] == null) {
                return false;
            }
        }
        int coordinates = fields.size();
        writeCoordinates(scratch.topicField(topic), partition, offset, fields);
        // The record is regular: only now does anything reach the batch.
        for (int i = 0; i < columns.length; i++) {
            if (i > 0) {
                out.append(TabSeparatedText.FIELD_SEPARATOR);
            }
            if (seen[i]) {
                fields.copyTo(out, scratch.fieldStarts[i], scratch.fieldEnds[i]);
            } else {
                out.write(absentFields[i]);
            }
        }
        fields.copyTo(out, coordinates, fields.size());
        return true;
    }

    /** The source coordinate fields, each after a separator (they follow the model's columns), and the row's end. */
    private static void writeCoordinates(byte[] topicField, int partition, long offset, RowBuffer out) {
        out.write(TabSeparatedText.FIELD_SEPARATOR);
        out.write(topicField);
        out.write(TabSeparatedText.FIELD_SEPARATOR);
        out.writeDecimal(partition);
        out.write(TabSeparatedText.FIELD_SEPARATOR);
        out.writeDecimal(offset);
        out.write(TabSeparatedText.ROW_END);
    }

    /**
     * Writes the current field's value as the tree path would write it, or returns false when the
     * tree path might not accept it or might write it differently.
     */
    private static boolean copyValue(JsonParser p, Column column, ValueSink to, Scratch scratch) throws IOException {
        JsonToken token = p.nextToken();
        ColumnType type = column.type();
        switch (token) {
            case VALUE_NULL:
                if (!column.nullable()) {
                    return false;
                }
                to.writeNull();
                return true;
            case VALUE_STRING:
                return copyString(p, type, to, scratch);
            case VALUE_NUMBER_INT:
                return copyInteger(p, type, to, scratch);
            case VALUE_NUMBER_FLOAT:
                // The tree keeps a double and writes it back, so the same double is written here.
                if (type != ColumnType.FLOAT64 || p.getNumberType() != JsonParser.NumberType.DOUBLE) {
                    return false;
                }
                double number = p.getDoubleValue();
                // 1e400 reads as infinity, which ColumnType refuses: the tree path words that.
                if (!Double.isFinite(number)) {
                    return false;
                }
                to.writeNumber(number);
                return true;
            case VALUE_TRUE:
            case VALUE_FALSE:
                if (type != ColumnType.BOOLEAN) {
                    return false;
                }
                to.writeNumber(token == JsonToken.VALUE_TRUE ? 1 : 0);
                return true;
            default:
                return false;
        }
    }

    private static boolean copyString(JsonParser p, ColumnType type, ValueSink to, Scratch scratch) throws IOException {
        char[] text = p.getTextCharacters();
        int from = p.getTextOffset();
        int length = p.getTextLength();
        switch (type) {
            case STRING:
                // An unpaired surrogate is refused by ColumnType, as at ingest: the tree path words that.
                if (JsonText.firstLoneSurrogate(text, from, length) >= 0) {
                    return false;
                }
                to.writeString(text, from, length);
                return true;
            case DATE:
                if (!ColumnType.isStorableDate(text, from, length)) {
                    return false;
                }
                to.writeString(text, from, length);
                return true;
            case DATETIME:
                return writeDateTime(ColumnType.storableDateTime(text, from, length), to, scratch);
            default:
                return false;
        }
    }

    /** Integers are written from the int or long the tree would hold, which prints the same digits. */
    private static boolean copyInteger(JsonParser p, ColumnType type, ValueSink to, Scratch scratch) throws IOException {
        JsonParser.NumberType numberType = p.getNumberType();
        boolean fitsInt = numberType == JsonParser.NumberType.INT;
        boolean fitsLong = fitsInt || numberType == JsonParser.NumberType.LONG;
        switch (type) {
            case INT32:
                if (!fitsInt) {
                    return false;
                }
                to.writeNumber(p.getIntValue());
                return true;
            case INT64:
            case FLOAT64:
                if (fitsInt) {
                    to.writeNumber(p.getIntValue());
                } else if (fitsLong) {
                    to.writeNumber(p.getLongValue());
                } else if (type == ColumnType.FLOAT64) {
                    BigInteger big = p.getBigIntegerValue();
                    if (!Double.isFinite(big.doubleValue())) {
                        return false;
                    }
                    to.writeNumber(big);
                } else {
                    return false;
                }
                return true;
            case DATETIME:
                if (!fitsLong) {
                    return false;
                }
                long seconds = p.getLongValue();
                return ColumnType.isStorableDateTime(seconds) && writeDateTime(seconds, to, scratch);
            default:
                return false;
        }
    }

    private static boolean writeDateTime(long seconds, ValueSink to, Scratch scratch) throws IOException {
        if (seconds == ColumnType.NOT_A_DATE_TIME) {
            return false;
        }
        ColumnType.writeClickhouseDateTime(seconds, scratch.dateTime);
        to.writeString(scratch.dateTime, 0, ColumnType.CLICKHOUSE_DATE_TIME_LENGTH);
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
        JsonNode record = validRecord(value);
        try (JsonGenerator g = json.getFactory().createGenerator(out)) {
            g.writeStartObject();
            for (Column column : columns) {
                g.writeFieldName(column.name());
                writeStored(g, storedValue(record, column));
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

    /** The tree-based TabSeparated encoding: the same values as {@link #encodeViaTree}, as TabSeparated fields. */
    void encodeTabSeparatedViaTree(byte[] value, String topic, int partition, long offset, ByteArrayBuilder out)
            throws InvalidRecordException {
        JsonNode record = validRecord(value);
        Scratch scratch = SCRATCH.get();
        scratch.start(columns.length);
        // Into scratch first: a default that fails to convert throws before the batch is touched.
        RowBuffer row = scratch.row;
        for (int i = 0; i < columns.length; i++) {
            if (i > 0) {
                row.write(TabSeparatedText.FIELD_SEPARATOR);
            }
            writeField(columns[i], storedValue(record, columns[i]), row);
        }
        writeCoordinates(scratch.topicField(topic), partition, offset, row);
        row.copyTo(out);
    }

    /** The record as a tree, or why it is not a valid record of the version, worded for both encodings alike. */
    private JsonNode validRecord(byte[] value) throws InvalidRecordException {
        // Ingest refuses such a body (moose-flows.ingest.max-nesting-depth); a record that reached the
        // topic another way must not overflow the stack of the tree parser either.
        if (JsonText.nestsDeeperThan(value, MAX_NESTING_DEPTH, json.getFactory())) {
            throw new InvalidRecordException("nests arrays and objects deeper than " + MAX_NESTING_DEPTH + " levels");
        }
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
        return record;
    }

    /** What a valid record stores in the column, converted for ClickHouse: its value, else the default, else null. */
    private static JsonNode storedValue(JsonNode record, Column column) {
        JsonNode v = record.get(column.name());
        if (v == null || v.isMissingNode()) {
            v = column.defaultValue().orElse(null);
        }
        return v == null || v.isNull() ? NullNode.getInstance() : column.type().toClickhouseJson(v);
    }

    /** Writes a stored value (see {@link #storedValue}) as a JSON value. */
    private void writeStored(JsonGenerator g, JsonNode converted) throws IOException {
        if (converted.isNull()) {
            g.writeNull();
        } else if (converted.isTextual()) {
            // Strings (and converted DateTimes) are most columns: skip the tree serializer for them.
            g.writeString(converted.textValue());
        } else {
            json.writeTree(g, converted);
        }
    }

    /**
     * Writes a stored value as the TabSeparated field ClickHouse reads as what it reads from the JSON
     * path's value: numbers in the text the JSON generator prints, booleans already converted to 1/0;
     * except a Float64, which goes as the bits of its double (the ingress converts them, see SinkFence).
     */
    private static void writeField(Column column, JsonNode converted, RowBuffer out) {
        if (column.type() == ColumnType.FLOAT64 && !converted.isNull()) {
            TabSeparatedText.writeFloat64Bits(converted.doubleValue(), out);
        } else if (converted.isNull()) {
            out.write(TabSeparatedText.NULL);
        } else if (converted.isTextual()) {
            TabSeparatedText.writeString(converted.textValue(), out);
        } else if (converted.isDouble()) {
            TabSeparatedText.writeDouble(converted.doubleValue(), out);
        } else if (converted.isNumber()) {
            // Integers, and decimals under USE_BIG_DECIMAL_FOR_FLOATS: the text the generator prints.
            out.writeAscii(converted.asText());
        } else {
            // Validation lets only scalars through, and booleans are converted to numbers.
            throw new IllegalStateException("no TabSeparated form for " + converted.getNodeType() + " " + converted);
        }
    }

    /** Where a streaming encoding writes each value it copies: the same decisions feed the JSON and the TabSeparated row. */
    private interface ValueSink {
        void writeNull() throws IOException;

        void writeString(char[] text, int from, int length) throws IOException;

        void writeNumber(int value) throws IOException;

        void writeNumber(long value) throws IOException;

        void writeNumber(BigInteger value) throws IOException;

        void writeNumber(double value) throws IOException;
    }

    /** Values as the JSON generator writes them. */
    private record JsonValues(JsonGenerator g) implements ValueSink {
        @Override
        public void writeNull() throws IOException {
            g.writeNull();
        }

        @Override
        public void writeString(char[] text, int from, int length) throws IOException {
            g.writeString(text, from, length);
        }

        @Override
        public void writeNumber(int value) throws IOException {
            g.writeNumber(value);
        }

        @Override
        public void writeNumber(long value) throws IOException {
            g.writeNumber(value);
        }

        @Override
        public void writeNumber(BigInteger value) throws IOException {
            g.writeNumber(value);
        }

        @Override
        public void writeNumber(double value) throws IOException {
            g.writeNumber(value);
        }
    }

    /** Values as TabSeparated fields, in the text the JSON generator would print (see {@link #writeField}). */
    private record TabSeparatedValues(RowBuffer out) implements ValueSink {
        @Override
        public void writeNull() {
            out.write(TabSeparatedText.NULL);
        }

        @Override
        public void writeString(char[] text, int from, int length) {
            TabSeparatedText.writeString(text, from, length, out);
        }

        @Override
        public void writeNumber(int value) {
            out.writeDecimal(value);
        }

        @Override
        public void writeNumber(long value) {
            out.writeDecimal(value);
        }

        @Override
        public void writeNumber(BigInteger value) {
            out.writeAscii(value.toString());
        }

        @Override
        public void writeNumber(double value) {
            TabSeparatedText.writeDouble(value, out);
        }
    }

    /**
     * A Float64 column's values as TabSeparated fields: the bits of the double each number rounds to
     * (Java's conversions round correctly; the tree path's doubleValue gives the same double), which
     * the ingress turns back into that double. Strings never reach a Float64 column here.
     */
    private record Float64Bits(RowBuffer out) implements ValueSink {
        @Override
        public void writeNull() {
            out.write(TabSeparatedText.NULL);
        }

        @Override
        public void writeString(char[] text, int from, int length) {
            throw new IllegalStateException("a string is no Float64 value");
        }

        @Override
        public void writeNumber(int value) {
            TabSeparatedText.writeFloat64Bits(value, out);
        }

        @Override
        public void writeNumber(long value) {
            TabSeparatedText.writeFloat64Bits(value, out);
        }

        @Override
        public void writeNumber(BigInteger value) {
            TabSeparatedText.writeFloat64Bits(value.doubleValue(), out);
        }

        @Override
        public void writeNumber(double value) {
            TabSeparatedText.writeFloat64Bits(value, out);
        }
    }

    /** One thread's reusable buffers for streaming a row. */
    private static final class Scratch {
        final RowBuffer row = new RowBuffer();
        final TabSeparatedValues tabSeparated = new TabSeparatedValues(row);
        final Float64Bits float64Bits = new Float64Bits(row);
        boolean[] seen = new boolean[0];
        /** Where each column's TabSeparated field lies in {@code row}, for the columns seen. */
        int[] fieldStarts = new int[0];
        int[] fieldEnds = new int[0];
        final char[] dateTime = new char[ColumnType.CLICKHOUSE_DATE_TIME_LENGTH];
        /** The last topic's field: a sink writes one topic, so it is escaped once, not per row. */
        private String topic;
        private byte[] topicField;

        void start(int columns) {
            row.reset();
            if (seen.length < columns) {
                seen = new boolean[columns];
                fieldStarts = new int[columns];
                fieldEnds = new int[columns];
            } else {
                Arrays.fill(seen, 0, columns, false);
            }
        }

        byte[] topicField(String name) {
            if (!name.equals(topic)) {
                RowBuffer field = new RowBuffer();
                TabSeparatedText.writeString(name, field);
                topicField = field.toByteArray();
                topic = name;
            }
            return topicField;
        }
    }
}
