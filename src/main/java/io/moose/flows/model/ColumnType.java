package io.moose.flows.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The column types a data model may declare. Each maps to a ClickHouse type that exists both in
 * 18.16 and in current releases (hence UInt8 for booleans: the Bool type is newer).
 */
public enum ColumnType {
    STRING("String", "String"),
    INT32("Int32", "Int32"),
    INT64("Int64", "Int64"),
    FLOAT64("Float64", "Float64"),
    BOOLEAN("Boolean", "UInt8"),
    DATETIME("DateTime", "DateTime('UTC')"),
    DATE("Date", "Date");

    private static final DateTimeFormatter CLICKHOUSE_DATETIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    /**
     * DateTime is unsigned seconds since 1970 and Date unsigned days; 18.16's date tables end in 2105.
     * A value outside this range would be stored as a wrapped-around or clamped date, so it is rejected.
     */
    private static final LocalDate FIRST_DATE = LocalDate.of(1970, 1, 1);
    private static final LocalDate LAST_DATE = LocalDate.of(2105, 12, 31);
    private static final Instant FIRST_INSTANT = FIRST_DATE.atStartOfDay().toInstant(ZoneOffset.UTC);
    private static final Instant END_INSTANT = LAST_DATE.plusDays(1).atStartOfDay().toInstant(ZoneOffset.UTC);
    private static final String RANGE = " between " + FIRST_DATE + " and " + LAST_DATE;
    private static final long FIRST_SECOND = FIRST_INSTANT.getEpochSecond();
    private static final long END_SECOND = END_INSTANT.getEpochSecond();
    private static final long FIRST_DAY = FIRST_DATE.toEpochDay();
    private static final long LAST_DAY = LAST_DATE.toEpochDay();

    /** What {@link #storableDateTime} answers for text that is not a valid DateTime value. */
    public static final long NOT_A_DATE_TIME = IsoDateTimes.NOT_PARSED;
    /** Length of the text {@link #writeClickhouseDateTime} writes. */
    public static final int CLICKHOUSE_DATE_TIME_LENGTH = IsoDateTimes.CLICKHOUSE_LENGTH;

    private final String declaredName;
    private final String clickhouseType;

    ColumnType(String declaredName, String clickhouseType) {
        this.declaredName = declaredName;
        this.clickhouseType = clickhouseType;
    }

    /** The name used in the project definition, e.g. {@code Int64}. */
    public String declaredName() {
        return declaredName;
    }

    public String clickhouseType() {
        return clickhouseType;
    }

    public static Optional<ColumnType> parse(String name) {
        return Arrays.stream(values())
                .filter(t -> t.declaredName.equalsIgnoreCase(name))
                .findFirst();
    }

    public static String declaredNames() {
        return String.join(", ", Arrays.stream(values()).map(ColumnType::declaredName).toList());
    }

    /** Widening conversions a generated migration may apply without losing information. */
    public boolean canWidenTo(ColumnType target) {
        if (target == this) {
            return true;
        }
        return switch (this) {
            case INT32 -> Set.of(INT64, FLOAT64, STRING).contains(target);
            case INT64, FLOAT64, BOOLEAN, DATE, DATETIME -> target == STRING || (this == DATE && target == DATETIME);
            case STRING -> false;
        };
    }

    /** The value a new column gets when the definition declares no default. */
    public JsonNode zeroValue() {
        return switch (this) {
            case STRING -> TextNode.valueOf("");
            case INT32 -> IntNode.valueOf(0);
            case INT64 -> LongNode.valueOf(0L);
            case FLOAT64 -> DoubleNode.valueOf(0.0);
            case BOOLEAN -> BooleanNode.FALSE;
            case DATETIME -> TextNode.valueOf("1970-01-01T00:00:00Z");
            case DATE -> TextNode.valueOf("1970-01-01");
        };
    }

    /** Why a JSON value does not fit this type, or empty when it does. Null is handled by the caller. */
    public Optional<String> problemWith(JsonNode value) {
        switch (this) {
            case STRING:
                if (!value.isTextual()) {
                    return expected("a string", value);
                }
                int lone = JsonText.firstLoneSurrogate(value.textValue());
                // An escaped lone surrogate (backslash-u-d800 in the JSON) parses, but no UTF-8 writer can store it.
                return lone < 0 ? Optional.empty() : Optional.of("not valid Unicode: an unpaired surrogate "
                        + String.format("\\u%04x", (int) value.textValue().charAt(lone)) + " at character " + lone);
            case INT32:
                return value.isIntegralNumber() && value.canConvertToInt()
                        ? Optional.empty() : expected("an integer between -2^31 and 2^31-1", value);
            case INT64:
                return value.isIntegralNumber() && value.canConvertToLong()
                        ? Optional.empty() : expected("an integer between -2^63 and 2^63-1", value);
            case FLOAT64:
                // 1e400 is a valid JSON number, but a Float64 would hold infinity.
                return value.isNumber() && Double.isFinite(value.doubleValue())
                        ? Optional.empty() : expected("a finite number (a Float64 holds at most 1.7976931348623157E308)", value);
            case BOOLEAN:
                return value.isBoolean() ? Optional.empty() : expected("true or false", value);
            case DATETIME:
                OptionalLong seconds = OptionalLong.empty();
                if (value.isIntegralNumber() && value.canConvertToLong()) {
                    // Any long is a number of seconds; the range check below rejects what DateTime cannot hold.
                    seconds = OptionalLong.of(value.asLong());
                } else if (value.isTextual()) {
                    seconds = parseEpochSecond(value.asText());
                }
                // Whole seconds decide the range: a fraction never moves an instant across a whole-second bound.
                return seconds.isPresent() && isStorableDateTime(seconds.getAsLong())
                        ? Optional.empty()
                        : expected("an ISO-8601 date-time such as 2024-01-31T12:00:00Z, or epoch seconds," + RANGE, value);
            case DATE:
                return value.isTextual() && parseDate(value.asText()).filter(d -> !d.isBefore(FIRST_DATE) && !d.isAfter(LAST_DATE)).isPresent()
                        ? Optional.empty() : expected("a date such as 2024-01-31," + RANGE, value);
            default:
                throw new IllegalStateException("unhandled type " + this);
        }
    }

    /** Converts a valid JSON value of this type into the representation ClickHouse's JSONEachRow reads on every version. */
    public JsonNode toClickhouseJson(JsonNode value) {
        return switch (this) {
            case BOOLEAN -> IntNode.valueOf(value.asBoolean() ? 1 : 0);
            case DATETIME -> TextNode.valueOf(clickhouseDateTime(value.isNumber() ? value.asLong()
                    : parseEpochSecond(value.asText()).orElseThrow()));
            default -> value;
        };
    }

    /** Converts a valid value of this type into a valid value of a wider type (see {@link #canWidenTo}). */
    public JsonNode widen(JsonNode value, ColumnType target) {
        if (target == this) {
            return value;
        }
        return switch (target) {
            case INT64 -> LongNode.valueOf(value.asLong());
            case FLOAT64 -> DoubleNode.valueOf(value.asDouble());
            case STRING -> TextNode.valueOf(value.asText());
            case DATETIME -> TextNode.valueOf(parseDate(value.asText()).orElseThrow().atStartOfDay().toInstant(ZoneOffset.UTC).toString());
            default -> throw new IllegalArgumentException(this + " does not widen to " + target);
        };
    }

    /** Whether epoch seconds are inside what a DateTime column stores (see FIRST_DATE). */
    public static boolean isStorableDateTime(long epochSecond) {
        return epochSecond >= FIRST_SECOND && epochSecond < END_SECOND;
    }

    /**
     * The epoch seconds of a DateTime column's text value, read in place as {@link #problemWith} reads
     * it (so a streaming reader needs no String), or {@link #NOT_A_DATE_TIME} when problemWith would
     * reject it, including for being outside the storable range.
     */
    public static long storableDateTime(char[] text, int offset, int length) {
        long seconds = IsoDateTimes.parseEpochSecond(text, offset, length);
        if (seconds == IsoDateTimes.NOT_PARSED) {
            seconds = parseInstant(new String(text, offset, length)).map(Instant::getEpochSecond).orElse(NOT_A_DATE_TIME);
        }
        return isStorableDateTime(seconds) ? seconds : NOT_A_DATE_TIME;
    }

    /** Whether a Date column's text value is valid as {@link #problemWith} reads it, read in place. */
    public static boolean isStorableDate(char[] text, int offset, int length) {
        long day = IsoDateTimes.parseEpochDay(text, offset, length);
        if (day == IsoDateTimes.NOT_PARSED) {
            return parseDate(new String(text, offset, length)).filter(d -> !d.isBefore(FIRST_DATE) && !d.isAfter(LAST_DATE)).isPresent();
        }
        return day >= FIRST_DAY && day <= LAST_DAY;
    }

    /**
     * Writes storable epoch seconds (see {@link #isStorableDateTime}) as ClickHouse's UTC text into
     * {@code out[0..CLICKHOUSE_DATE_TIME_LENGTH)}, the form {@link #toClickhouseJson} gives them.
     */
    public static void writeClickhouseDateTime(long epochSecond, char[] out) {
        if (!isStorableDateTime(epochSecond)) {
            throw new IllegalArgumentException("not a storable DateTime: " + epochSecond);
        }
        IsoDateTimes.formatClickhouse(epochSecond, out);
    }

    private static String clickhouseDateTime(long epochSecond) {
        if (isStorableDateTime(epochSecond)) {
            char[] text = new char[CLICKHOUSE_DATE_TIME_LENGTH];
            IsoDateTimes.formatClickhouse(epochSecond, text);
            return new String(text);
        }
        // Only values problemWith rejects get here; they are written (or refused) by java.time as before.
        return LocalDateTime.ofInstant(Instant.ofEpochSecond(epochSecond), ZoneOffset.UTC).format(CLICKHOUSE_DATETIME);
    }

    /** Epoch seconds (floored) of an ISO date-time text, or empty: the common shapes by hand, the rest by java.time. */
    static OptionalLong parseEpochSecond(String text) {
        long seconds = IsoDateTimes.parseEpochSecond(text.toCharArray(), 0, text.length());
        if (seconds != IsoDateTimes.NOT_PARSED) {
            return OptionalLong.of(seconds);
        }
        return parseInstant(text).map(i -> OptionalLong.of(i.getEpochSecond())).orElseGet(OptionalLong::empty);
    }

    /**
     * The java.time reading of a date-time text, which decides every shape IsoDateTimes does not
     * recognise; a typed transform's {@code Instant} components read DateTime text with it.
     */
    public static Optional<Instant> parseInstant(String text) {
        try {
            return Optional.of(OffsetDateTime.parse(text).toInstant());
        } catch (DateTimeParseException notOffset) {
            try {
                // A date-time without zone is taken as UTC, as ClickHouse's DateTime('UTC') would.
                return Optional.of(LocalDateTime.parse(text.replace(' ', 'T')).toInstant(ZoneOffset.UTC));
            } catch (DateTimeParseException notLocal) {
                return Optional.empty();
            }
        }
    }

    /** A Date column's text as a date, as {@link #problemWith} reads it (typed transforms' {@code LocalDate}). */
    public static Optional<LocalDate> parseDate(String text) {
        long day = IsoDateTimes.parseEpochDay(text.toCharArray(), 0, text.length());
        if (day != IsoDateTimes.NOT_PARSED) {
            return Optional.of(LocalDate.ofEpochDay(day));
        }
        try {
            return Optional.of(LocalDate.parse(text));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    private static Optional<String> expected(String what, JsonNode value) {
        return Optional.of("expected " + what + ", got " + describe(value));
    }

    private static String describe(JsonNode value) {
        String text = value.toString();
        String kind = value.getNodeType().name().toLowerCase(Locale.ROOT);
        // Never half a surrogate pair, nor a lone one: a reply must be able to quote it.
        int cut = text.length() > 40 && Character.isHighSurrogate(text.charAt(39)) ? 39 : 40;
        return kind + " " + JsonText.escapeLoneSurrogates(text.length() > 40 ? text.substring(0, cut) + "..." : text);
    }
}
