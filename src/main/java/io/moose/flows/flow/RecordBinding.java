package io.moose.flows.flow;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.moose.flows.api.Nullable;
import io.moose.flows.api.RecordTransform;
import io.moose.flows.model.Column;
import io.moose.flows.model.ColumnType;
import io.moose.flows.model.ModelVersion;

import java.io.IOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * How a {@link RecordTransform}'s records meet the model versions: the record types read from the
 * class, their components checked against the source and target columns when a definition is
 * planned, and the Jackson binding a running hop uses.
 */
final class RecordBinding {

    /** The Java types a column type is read into and written from; the first is the one a message names. */
    private static final Map<Class<?>, ColumnType> KINDS = Map.ofEntries(
            Map.entry(String.class, ColumnType.STRING),
            Map.entry(int.class, ColumnType.INT32), Map.entry(Integer.class, ColumnType.INT32),
            Map.entry(long.class, ColumnType.INT64), Map.entry(Long.class, ColumnType.INT64),
            Map.entry(double.class, ColumnType.FLOAT64), Map.entry(Double.class, ColumnType.FLOAT64),
            Map.entry(boolean.class, ColumnType.BOOLEAN), Map.entry(Boolean.class, ColumnType.BOOLEAN),
            Map.entry(Instant.class, ColumnType.DATETIME),
            Map.entry(LocalDate.class, ColumnType.DATE));

    /** The input and output record types of one transform class. */
    record Types(Class<? extends Record> input, Class<? extends Record> output) {
    }

    private RecordBinding() {
    }

    /** The record types {@code type} declares for {@link RecordTransform}, or why they cannot be read. */
    static Types typesOf(Class<?> type) {
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Type implemented : c.getGenericInterfaces()) {
                if (implemented instanceof ParameterizedType p && p.getRawType() == RecordTransform.class) {
                    Type[] args = p.getActualTypeArguments();
                    if (args[0] instanceof Class<?> in && in.isRecord() && args[1] instanceof Class<?> out && out.isRecord()) {
                        return new Types(in.asSubclass(Record.class), out.asSubclass(Record.class));
                    }
                }
            }
        }
        throw new IllegalArgumentException("implements RecordTransform without naming its record types; declare it as "
                + "'class " + type.getSimpleName() + " implements RecordTransform<InputRecord, OutputRecord>'");
    }

    /** Everything in the records that does not fit the versions, each a sentence starting with the field. */
    static List<String> problems(Types types, ModelVersion source, ModelVersion target) {
        List<String> problems = new ArrayList<>();
        for (RecordComponent c : types.input().getRecordComponents()) {
            String field = "input field '" + c.getName() + "'";
            Optional<Column> column = source.column(c.getName());
            if (column.isEmpty()) {
                problems.add(field + " is not a column of " + source.ref() + " (columns: " + columnNames(source) + ")");
                continue;
            }
            String where = "source column " + source.ref() + "." + c.getName();
            ColumnType kind = KINDS.get(c.getType());
            if (kind == null) {
                problems.add(field + " is " + c.getType().getName() + ", which no column type binds to; " + where
                        + " is " + column.get().type().declaredName() + " (" + javaTypesOf(column.get().type()) + ")");
            } else if (!fits(column.get().type(), kind)) {
                problems.add(field + " is " + describe(c) + ", " + where + " is " + column.get().type().declaredName());
            } else if (column.get().nullable() && !mayBeNull(c)) {
                problems.add(field + " cannot hold null, " + where + " is nullable; use a boxed type marked @Nullable");
            }
        }
        List<String> written = new ArrayList<>();
        for (RecordComponent c : types.output().getRecordComponents()) {
            String field = "output field '" + c.getName() + "'";
            written.add(c.getName());
            Optional<Column> column = target.column(c.getName());
            if (column.isEmpty()) {
                problems.add(field + " is not a column of " + target.ref() + " (columns: " + columnNames(target) + ")");
                continue;
            }
            String where = "target column " + target.ref() + "." + c.getName();
            ColumnType kind = KINDS.get(c.getType());
            if (kind == null) {
                problems.add(field + " is " + c.getType().getName() + ", which no column type binds to; " + where
                        + " is " + column.get().type().declaredName() + " (" + javaTypesOf(column.get().type()) + ")");
            } else if (!fits(kind, column.get().type())) {
                problems.add(field + " is " + describe(c) + ", " + where + " is " + column.get().type().declaredName());
            } else if (mayBeNull(c) && !column.get().nullable()) {
                problems.add(field + " is @Nullable, " + where + " is not nullable");
            }
        }
        for (Column column : target.columns()) {
            if (!written.contains(column.name()) && !column.nullable() && column.defaultValue().isEmpty()) {
                problems.add("target column " + target.ref() + "." + column.name() + " is not nullable and has no default,"
                        + " but the output record has no field '" + column.name() + "'");
            }
        }
        return problems;
    }

    /** Whether a value of type {@code from} is a valid value of a column or component of type {@code to}. */
    private static boolean fits(ColumnType from, ColumnType to) {
        if (from == to) {
            return true;
        }
        return switch (from) {
            case INT32 -> to == ColumnType.INT64 || to == ColumnType.FLOAT64;
            case INT64 -> to == ColumnType.FLOAT64;
            // Date-time and date text read into, and written from, a String as it is.
            case DATETIME, DATE -> to == ColumnType.STRING;
            case STRING -> to == ColumnType.DATETIME || to == ColumnType.DATE;
            default -> false;
        };
    }

    private static boolean mayBeNull(RecordComponent c) {
        return !c.getType().isPrimitive() && c.isAnnotationPresent(Nullable.class);
    }

    private static String describe(RecordComponent c) {
        ColumnType kind = KINDS.get(c.getType());
        return kind == ColumnType.STRING || c.getType().isPrimitive() || kind == null
                ? (kind == null ? c.getType().getName() : kind.declaredName())
                : kind.declaredName() + " (" + c.getType().getSimpleName() + ")";
    }

    private static String javaTypesOf(ColumnType type) {
        List<String> names = new ArrayList<>();
        KINDS.forEach((java, kind) -> {
            if (kind == type) {
                names.add(java.getSimpleName());
            }
        });
        if (type == ColumnType.DATETIME || type == ColumnType.DATE) {
            names.add("String");
        }
        names.sort(null);
        return "use " + String.join(" or ", names);
    }

    private static String columnNames(ModelVersion version) {
        return String.join(", ", version.columns().stream().map(Column::name).toList());
    }

    /** The mapper records are bound with: date-times and dates read as the validator reads them, written as ISO text. */
    static ObjectMapper mapper() {
        SimpleModule columns = new SimpleModule("moose-columns")
                .addDeserializer(Instant.class, new JsonDeserializer<>() {
                    @Override
                    public Instant deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
                        if (p.currentToken() == JsonToken.VALUE_NUMBER_INT) {
                            return Instant.ofEpochSecond(p.getLongValue());
                        }
                        if (p.currentToken() == JsonToken.VALUE_STRING && !hasFraction(p)) {
                            // The common shapes read in place, as the validator reads them (no java.time parser).
                            long seconds = ColumnType.storableDateTime(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
                            if (seconds != ColumnType.NOT_A_DATE_TIME) {
                                return Instant.ofEpochSecond(seconds);
                            }
                        }
                        String text = p.getValueAsString();
                        return ColumnType.parseInstant(text).orElseThrow(() ->
                                new IllegalArgumentException("not a DateTime value: " + text));
                    }
                })
                .addSerializer(Instant.class, new JsonSerializer<>() {
                    @Override
                    public void serialize(Instant value, JsonGenerator gen, SerializerProvider provider) throws IOException {
                        if (value.getNano() != 0 || !ColumnType.isStorableDateTime(value.getEpochSecond())) {
                            gen.writeString(value.toString());
                            return;
                        }
                        // Whole seconds as ISO-8601 UTC without java.time's formatter: 2024-01-31T12:00:00Z.
                        char[] text = new char[ColumnType.CLICKHOUSE_DATE_TIME_LENGTH + 1];
                        ColumnType.writeClickhouseDateTime(value.getEpochSecond(), text);
                        text[10] = 'T';
                        text[text.length - 1] = 'Z';
                        gen.writeString(text, 0, text.length);
                    }
                })
                .addDeserializer(LocalDate.class, new JsonDeserializer<>() {
                    @Override
                    public LocalDate deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
                        String text = p.getValueAsString();
                        return ColumnType.parseDate(text).orElseThrow(() -> new IllegalArgumentException("not a Date value: " + text));
                    }
                });
        return new ObjectMapper()
                .registerModule(new JavaTimeModule())
                .registerModule(columns)
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                // An input record may take a subset of the source columns.
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                // A missing or null value for an int would otherwise silently read as 0.
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES);
    }

    /** Whether a date-time text has a fraction of a second, which the in-place reading would floor. */
    private static boolean hasFraction(JsonParser p) throws IOException {
        char[] text = p.getTextCharacters();
        for (int i = p.getTextOffset(), end = i + p.getTextLength(); i < end; i++) {
            if (text[i] == '.') {
                return true;
            }
        }
        return false;
    }

    /**
     * A running typed transform. Input records are bound straight from the bytes, without a tree,
     * unless one of the input's columns has a default (a source record may leave it out, and the
     * default must fill it): then they are read as a tree, the defaults set, and bound from it.
     */
    @SuppressWarnings({"rawtypes", "unchecked"})
    static FlowTransform running(RecordTransform transform, Types types, ModelVersion source, ObjectMapper json) {
        ObjectMapper mapper = mapper();
        ObjectReader reader = mapper.readerFor(types.input());
        List<Column> defaulted = new ArrayList<>();
        for (RecordComponent c : types.input().getRecordComponents()) {
            source.column(c.getName()).filter(col -> col.defaultValue().isPresent()).ifPresent(defaulted::add);
        }
        FlatJsonCodec codec = new FlatJsonCodec(json);
        return new FlowTransform() {
            @Override
            public Object read(byte[] bytes) throws Exception {
                if (defaulted.isEmpty()) {
                    return reader.readValue(bytes);
                }
                JsonNode tree = codec.read(bytes);
                if (!(tree instanceof ObjectNode object)) {
                    throw new TransformStep.InvalidOutputException("input is not a JSON object");
                }
                for (Column column : defaulted) {
                    if (!object.has(column.name())) {
                        object.set(column.name(), column.defaultValue().orElseThrow());
                    }
                }
                return reader.readValue(object);
            }

            @Override
            public List<ObjectNode> apply(Object input) throws Exception {
                List<? extends Record> outputs = transform.apply((Record) input);
                List<ObjectNode> trees = new ArrayList<>(outputs.size());
                for (Record out : outputs) {
                    if (out == null) {
                        throw new TransformStep.InvalidOutputException("the transform returned a null record");
                    }
                    trees.add(mapper.valueToTree(out));
                }
                return trees;
            }

            @Override
            public String name() {
                return transform.getClass().getName();
            }
        };
    }
}
