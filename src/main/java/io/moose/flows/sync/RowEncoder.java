package io.moose.flows.sync;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.clickhouse.TableSchema;
import io.moose.flows.model.Column;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.RecordValidator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Turns one Kafka record value into one JSONEachRow line of the version's table: validated against
 * the version, every column written explicitly (absent ones get their declared default, or null),
 * values converted to what ClickHouse reads on every version, and the source coordinates appended.
 */
public final class RowEncoder {

    /** A record value that is not a valid record of the target version. */
    public static final class InvalidRecordException extends Exception {
        public InvalidRecordException(String message) {
            super(message);
        }
    }

    private static final byte NEWLINE = '\n';

    private final ModelVersion version;
    private final ObjectMapper json;

    public RowEncoder(ModelVersion version, ObjectMapper json) {
        this.version = version;
        this.json = json;
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
}
