package io.moose.flows.testing;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Seeded random records of a model with every column type, valid and invalid, with what a table must
 * hold for each valid one (worked out here with java.time and the JDK's number parsing, not with the
 * code under test) and which field makes an invalid one invalid. Strings are awkward on purpose:
 * escapes of every kind, quotes, tabs and newlines, backslashes, NUL and other controls, characters
 * outside the BMP written raw or as escaped surrogate pairs; numbers sit on their type's boundaries.
 */
public final class RandomRecords {

    /** The model; {@link #STORED_COLUMNS} reads a row back as the text {@link Field#stored} holds. */
    public static final String DEFINITION = """
            models = [{ name = Every, versions = [{ version = "0.1", columns = [
              { name = id, type = String }
              { name = s, type = String }
              { name = i32, type = Int32 }
              { name = i64, type = Int64 }
              { name = f64, type = Float64 }
              { name = b, type = Boolean }
              { name = dt, type = DateTime }
              { name = d, type = Date }
              { name = ns, type = String, nullable = true }
              { name = ni, type = Int64, nullable = true }
              { name = ds, type = String, default = "dflt" }
            ] }] }]
            flows = []
            """;
    public static final List<String> COLUMNS = List.of("s", "i32", "i64", "f64", "b", "dt", "d", "ns", "ni", "ds");
    /**
     * The SELECT list giving each column as compared: strings as the hex of their bytes, Float64 as the
     * hex of its bytes (little-endian, trailing zero bytes dropped by ClickHouse), DateTime as epoch seconds,
     * Date as epoch days (18.16 shows day 0 as 0000-00-00).
     */
    public static final String STORED_COLUMNS = "id, hex(s), toString(i32), toString(i64), hex(reinterpretAsString(f64)), "
            + "toString(b), toString(toUInt32(dt)), toString(toUInt16(d)), if(isNull(ns), 'NULL', hex(assumeNotNull(ns))), "
            + "if(isNull(ni), 'NULL', toString(assumeNotNull(ni))), hex(ds)";

    private static final long END_SECOND = LocalDate.of(2106, 1, 1).toEpochDay() * 86_400L;
    private static final long LAST_DAY = LocalDate.of(2105, 12, 31).toEpochDay();
    private static final String NULL = "NULL";

    /**
     * One field of a record: its JSON as sent (bytes, as some are not UTF-8), and either the text
     * the table must hold or the fact that it makes the record invalid.
     *
     * @param badAt where in {@code json} the bytes that make the whole body unreadable start (not
     *              UTF-8, or a raw control character: not JSON), or -1; the body is then refused as a
     *              whole, naming a byte offset
     */
    public record Field(String name, byte[] json, String stored, boolean valid, int badAt) {
    }

    /** A record; a field that is absent is in {@code fields} with a null {@code json}. */
    public record Record(String id, List<Field> fields, boolean notAnObject) {

        public boolean valid() {
            return !notAnObject && fields.stream().allMatch(Field::valid);
        }

        /**
         * Where in {@link #json} the bytes the node names when it refuses the whole body start, or -1:
         * the first bytes that are not UTF-8 (the body's encoding is checked before it is parsed), else
         * the first that make it unreadable JSON (a raw control character). A record with a control
         * character early and bad UTF-8 later is refused for the UTF-8 (seed 3495248777932, p00451).
         */
        public int badAt() {
            int at = ("{\"id\":\"" + id + "\"").length();
            int firstBad = -1;
            for (Field f : notAnObject ? List.<Field>of() : fields) {
                if (f.json() != null) {
                    at += (",\"" + f.name() + "\":").length();
                    if (f.badAt() >= 0) {
                        if (!isUtf8(f.json())) {
                            return at + f.badAt();
                        }
                        if (firstBad < 0) {
                            firstBad = at + f.badAt();
                        }
                    }
                    at += f.json().length;
                }
            }
            return firstBad;
        }

        private static boolean isUtf8(byte[] bytes) {
            try {
                StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes));
                return true;
            } catch (java.nio.charset.CharacterCodingException e) {
                return false;
            }
        }

        /** The names of the fields that make it invalid ("" when it is not an object). */
        public List<String> invalidFields() {
            return notAnObject ? List.of("") : fields.stream().filter(f -> !f.valid()).map(Field::name).toList();
        }

        /** The row as {@link #STORED_COLUMNS} reads it. */
        public List<String> storedRow() {
            List<String> row = new ArrayList<>();
            row.add(id);
            fields.stream().filter(f -> COLUMNS.contains(f.name())).forEach(f -> row.add(f.stored()));
            return row;
        }

        public byte[] json() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (notAnObject) {
                out.writeBytes(("\"" + id + "\"").getBytes(StandardCharsets.UTF_8));
                return out.toByteArray();
            }
            out.writeBytes(("{\"id\":\"" + id + "\"").getBytes(StandardCharsets.UTF_8));
            for (Field f : fields) {
                if (f.json() != null) {
                    out.writeBytes((",\"" + f.name() + "\":").getBytes(StandardCharsets.UTF_8));
                    out.writeBytes(f.json());
                }
            }
            out.write('}');
            return out.toByteArray();
        }
    }

    private final Random random;
    private final double invalidRate;

    /** @param invalidRate the chance each field is invalid */
    public RandomRecords(long seed, double invalidRate) {
        this.random = new Random(seed);
        this.invalidRate = invalidRate;
    }

    public Record next(String id) {
        if (random.nextDouble() < invalidRate / 10) {
            return new Record(id, List.of(), true);
        }
        List<Field> fields = new ArrayList<>();
        fields.add(field("s", this::string, this::badString));
        fields.add(field("i32", this::int32, this::badInt32));
        fields.add(field("i64", this::int64, this::badInt64));
        fields.add(field("f64", this::float64, this::badFloat64));
        fields.add(field("b", this::bool, this::badBool));
        fields.add(field("dt", this::dateTime, this::badDateTime));
        fields.add(field("d", this::date, this::badDate));
        fields.add(nullable(field("ns", this::string, this::badString)));
        fields.add(nullable(field("ni", this::int64, this::badInt64)));
        Field ds = field("ds", this::string, this::badString);
        fields.add(random.nextInt(4) == 0 ? new Field("ds", null, hex("dflt"), true, -1) : ds);
        if (random.nextDouble() < invalidRate / 3) {
            fields.add(new Field("unknown" + random.nextInt(3), "1".getBytes(StandardCharsets.UTF_8), null, false, -1));
        }
        if (random.nextDouble() < invalidRate / 3) {
            // A required column left out, or given null.
            int i = random.nextInt(7);
            Field f = fields.get(i);
            fields.set(i, new Field(f.name(), random.nextBoolean() ? null : "null".getBytes(StandardCharsets.UTF_8), null, false, -1));
        }
        return new Record(id, fields, false);
    }

    /** A valid record: the good requests around the fuzzing. */
    public Record nextValid(String id) {
        Record record;
        do {
            record = next(id);
        } while (!record.valid());
        return record;
    }

    private Field field(String name, Supplier<Value> valid, Supplier<Value> invalid) {
        boolean good = random.nextDouble() >= invalidRate;
        Value v = good ? valid.get() : invalid.get();
        return new Field(name, v.json, good ? v.stored : null, good, v.badAt);
    }

    private Field nullable(Field f) {
        return switch (random.nextInt(5)) {
            case 0 -> new Field(f.name(), "null".getBytes(StandardCharsets.UTF_8), NULL, true, -1);
            case 1 -> new Field(f.name(), null, NULL, true, -1);
            default -> f;
        };
    }

    private record Value(byte[] json, String stored, int badAt) {
        static Value of(String json, String stored) {
            return new Value(json.getBytes(StandardCharsets.UTF_8), stored, -1);
        }
    }

    // ---- strings

    private static final String[] PIECES = {"\"", "\\", "/", "\t", "\n", "\r", "\b", "\f", "\u0000", "\u0001", "\u001f", "\u007f",
        "'", "é", "中", "\u00a0", "\u2028", "\u2029", "\ufeff", "\uffff", "\ud83d\ude00", "\udbff\udfff", "\ud800\udc00",
        "\\u0000", "\\n", "a b", "\u0085", "Ω", "\u0300"};

    private Value string() {
        StringBuilder text = new StringBuilder();
        int length = random.nextInt(8) == 0 ? 200 + random.nextInt(2000) : random.nextInt(12);
        while (text.length() < length) {
            text.append(random.nextInt(3) == 0 ? PIECES[random.nextInt(PIECES.length)]
                    : Character.toString(random.nextInt(3) == 0 ? 0x20 + random.nextInt(0x5f) : randomCodePoint()));
        }
        return new Value(jsonString(text.toString()), hex(text.toString()), -1);
    }

    /** Any Unicode scalar value: no surrogate code points. */
    private int randomCodePoint() {
        int cp;
        do {
            cp = random.nextInt(4) == 0 ? random.nextInt(0x110000) : random.nextInt(0x800);
        } while (cp >= 0xD800 && cp <= 0xDFFF);
        return cp;
    }

    /** JSON text of {@code s}, each character written raw where JSON allows it or escaped in one of its forms. */
    private byte[] jsonString(String s) {
        StringBuilder json = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            int style = random.nextInt(4);
            if (Character.isHighSurrogate(c)) {
                // Outside the BMP: raw, or as an escaped surrogate pair; never one half of each.
                char low = s.charAt(++i);
                json.append(style == 0 ? String.format("\\u%04x\\u%04X", (int) c, (int) low) : "" + c + low);
                continue;
            }
            String shortEscape = switch (c) {
                case '"' -> "\\\"";
                case '\\' -> "\\\\";
                case '/' -> "\\/";
                case '\b' -> "\\b";
                case '\f' -> "\\f";
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                case '\t' -> "\\t";
                default -> null;
            };
            boolean mustEscape = c == '"' || c == '\\' || c < 0x20;
            if (style == 0 || (mustEscape && shortEscape == null)) {
                String hex = String.format("%04x", (int) c);
                json.append("\\u").append(random.nextBoolean() ? hex : hex.toUpperCase());
            } else if (shortEscape != null && (mustEscape || style == 1)) {
                json.append(shortEscape);
            } else {
                json.append(c);
            }
        }
        return json.append('"').toString().getBytes(StandardCharsets.UTF_8);
    }

    private static final String[] LONE_SURROGATES = {"\\ud800", "\\uDBFF", "\\udc00", "\\uDFFF", "\\ude00\\ud83d", "\\ud800a"};
    private static final byte[][] NOT_UTF8 = {{(byte) 0xC0, (byte) 0xAF}, {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},
        {(byte) 0xED, (byte) 0xA0, (byte) 0x80}, {(byte) 0xED, (byte) 0xB0, (byte) 0x80}, {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},
        {(byte) 0xFF}, {(byte) 0x80}, {(byte) 0xE2, (byte) 0x82}, {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}};

    private Value badString() {
        return switch (random.nextInt(4)) {
            case 0 -> Value.of("\"x" + LONE_SURROGATES[random.nextInt(LONE_SURROGATES.length)] + "y\"", null);
            case 1 -> {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write('"');
                out.write('a');
                out.writeBytes(NOT_UTF8[random.nextInt(NOT_UTF8.length)]);
                out.write('z');
                out.write('"');
                yield new Value(out.toByteArray(), null, 2);
            }
            case 2 -> Value.of(List.of("5", "true", "[\"a\"]", "{\"a\":1}", "1.5").get(random.nextInt(5)), null);
            // A raw control character (JSON wants it escaped) makes the body unreadable JSON.
            default -> new Value(("\"x" + (char) (random.nextInt(0x1f) + 1) + "y\"").getBytes(StandardCharsets.UTF_8), null, 2);
        };
    }

    // ---- numbers

    private Value int32() {
        long v = switch (random.nextInt(6)) {
            case 0 -> Integer.MIN_VALUE;
            case 1 -> Integer.MAX_VALUE;
            case 2 -> 0;
            case 3 -> -1;
            default -> random.nextInt();
        };
        String json = v == 0 && random.nextBoolean() ? "-0" : Long.toString(v);
        return Value.of(json, Long.toString(v));
    }

    private Value badInt32() {
        return Value.of(List.of("2147483648", "-2147483649", "1.5", "1.0", "\"7\"", "true", "100000000000000000000", "1e2")
                .get(random.nextInt(8)), null);
    }

    private Value int64() {
        long v = switch (random.nextInt(6)) {
            case 0 -> Long.MIN_VALUE;
            case 1 -> Long.MAX_VALUE;
            case 2 -> (1L << 53) + 1;
            case 3 -> -1;
            default -> random.nextLong();
        };
        return Value.of(Long.toString(v), Long.toString(v));
    }

    private Value badInt64() {
        return Value.of(List.of("9223372036854775808", "-9223372036854775809", "0.5", "\"1\"", "1" + "0".repeat(30), "false")
                .get(random.nextInt(6)), null);
    }

    private static final String[] FLOATS = {"0", "-0.0", "0.1", "4.9E-324", "4.9e-324", "2.2250738585072011e-308",
        "1.7976931348623157E308", "-1.7976931348623157e308", "1.7976931348623158e308", "1e-400", "-1e-400",
        "123456789012345678901234567890", "9223372036854775807", "-9223372036854775808", "5", "1E2", "0.30000000000000004"};

    private Value float64() {
        String json = random.nextInt(3) == 0 ? FLOATS[random.nextInt(FLOATS.length)]
                : Double.toString(random.nextBoolean() ? random.nextGaussian() * Math.pow(10, random.nextInt(600) - 300)
                        : Double.longBitsToDouble(random.nextLong()));
        if (!isJsonNumber(json)) {
            json = "1.25"; // a random bit pattern may be NaN or infinite
        }
        return Value.of(json, float64Stored(Double.parseDouble(json)));
    }

    private static boolean isJsonNumber(String text) {
        return text.matches("-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?") && Double.isFinite(Double.parseDouble(text));
    }

    /** As ClickHouse shows hex(reinterpretAsString(x)): the little-endian bytes without trailing zero bytes. */
    private static String float64Stored(double value) {
        long bits = Double.doubleToRawLongBits(value);
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            hex.append(String.format("%02X", (bits >>> (8 * i)) & 0xFF));
        }
        String text = hex.toString();
        while (text.endsWith("00")) {
            text = text.substring(0, text.length() - 2);
        }
        return text;
    }

    private Value badFloat64() {
        return Value.of(List.of("1e400", "-1e309", "1" + "0".repeat(400), "\"1.5\"", "true", "\"NaN\"").get(random.nextInt(6)), null);
    }

    private Value bool() {
        boolean v = random.nextBoolean();
        return Value.of(Boolean.toString(v), v ? "1" : "0");
    }

    private Value badBool() {
        return Value.of(List.of("1", "0", "\"true\"", "\"yes\"").get(random.nextInt(4)), null);
    }

    // ---- dates

    private static final DateTimeFormatter LOCAL = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss");

    private Value dateTime() {
        long second = switch (random.nextInt(6)) {
            case 0 -> 0;
            case 1 -> END_SECOND - 1;
            default -> (long) (random.nextDouble() * END_SECOND);
        };
        LocalDateTime utc = LocalDateTime.ofEpochSecond(second, 0, ZoneOffset.UTC);
        String json = switch (random.nextInt(5)) {
            case 0 -> Long.toString(second);
            case 1 -> "\"" + utc.format(LOCAL) + "Z\"";
            case 2 -> "\"" + utc.format(LOCAL) + "\"";
            case 3 -> {
                // The same instant at another offset, when that still reads inside the range.
                ZoneOffset offset = ZoneOffset.ofHoursMinutes(random.nextInt(14), random.nextBoolean() ? 30 : 0);
                yield "\"" + OffsetDateTime.ofInstant(utc.toInstant(ZoneOffset.UTC), offset).toLocalDateTime().format(LOCAL)
                        + offset.getId().replace("Z", "+00:00") + "\"";
            }
            default -> "\"" + utc.format(LOCAL) + "." + String.format("%03d", random.nextInt(1000)) + "Z\"";
        };
        long expected = expectedSecond(json);
        return Value.of(json, Long.toString(expected));
    }

    /** java.time's reading: a number is seconds, a zone-less text is UTC, a fraction is floored. */
    private static long expectedSecond(String json) {
        if (!json.startsWith("\"")) {
            return Long.parseLong(json);
        }
        String text = json.substring(1, json.length() - 1);
        try {
            return OffsetDateTime.parse(text).toEpochSecond();
        } catch (java.time.format.DateTimeParseException zoneless) {
            return LocalDateTime.parse(text).toEpochSecond(ZoneOffset.UTC);
        }
    }

    private Value badDateTime() {
        return Value.of(List.of("-1", Long.toString(END_SECOND), "\"2106-01-01T00:00:00Z\"", "\"1969-12-31T23:59:59Z\"",
                "\"1970-01-01T04:59:59+05:00\"", "\"2024-02-30T00:00:00Z\"", "\"yesterday\"", "true", "1.5", "\"\"",
                new BigInteger("2").pow(70).toString()).get(random.nextInt(11)), null);
    }

    private Value date() {
        long day = switch (random.nextInt(5)) {
            case 0 -> 0;
            case 1 -> LAST_DAY;
            default -> (long) (random.nextDouble() * (LAST_DAY + 1));
        };
        return Value.of("\"" + LocalDate.ofEpochDay(day) + "\"", Long.toString(day));
    }

    private Value badDate() {
        return Value.of(List.of("\"1969-12-31\"", "\"2106-01-01\"", "\"2024-02-30\"", "\"2024-1-05\"", "20240101", "\"\"", "null")
                .get(random.nextInt(7)), null);
    }

    public static String hex(String text) {
        return HexFormat.of().withUpperCase().formatHex(text.getBytes(StandardCharsets.UTF_8));
    }
}
