package io.moose.flows.model;

import com.fasterxml.jackson.databind.node.TextNode;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ColumnTypeTest {

    private static final long SEED = 20240131L;
    private static final int SAMPLES = 20_000;
    private static final DateTimeFormatter CLICKHOUSE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    private static final long FIRST_SECOND = 0;
    private static final long END_SECOND = LocalDate.of(2106, 1, 1).toEpochDay() * 86_400;

    @Test
    void handParsedDateTimesAgreeWithJavaTimeOrAreLeftToIt() {
        Random random = new Random(SEED);
        int handParsed = 0;
        for (int n = 0; n < SAMPLES; n++) {
            Candidate c = dateTime(random);
            Optional<Long> expected = javaTimeEpochSecond(c.text);
            long fast = IsoDateTimes.parseEpochSecond(c.text.toCharArray(), 0, c.text.length());
            if (fast != IsoDateTimes.NOT_PARSED) {
                handParsed++;
                assertEquals(expected, Optional.of(fast), c.text);
            } else if (c.common && expected.isPresent()) {
                throw new AssertionError("a common shape java.time accepts was left to it: " + c.text);
            }
            OptionalLong combined = ColumnType.parseEpochSecond(c.text);
            assertEquals(expected, combined.isPresent() ? Optional.of(combined.getAsLong()) : Optional.empty(), c.text);
        }
        assertTrue(handParsed > SAMPLES / 3, "most samples are common shapes: " + handParsed);
    }

    @Test
    void dateTimeEdgesAreDecidedAsJavaTimeDecidesThem() {
        List<String> rejected = List.of("2023-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
                "2024-01-31T24:00:00Z", "2024-01-31T12:60:00Z", "2024-01-31T12:00:60Z", "2024-01-31T12:00:00.1234567890Z",
                "2024-01-31T12:00:00+18:01", "2024-01-31T12:00:00+19:00", "2024-01-31T12:00:00+01:60",
                "2024-01-31 12:00:00Z", "2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-01-00T00:00:00Z",
                "2024-01-31T12:00:00+0100", "2024-01-31T12:00:00 ", " 2024-01-31T12:00:00Z");
        for (String text : rejected) {
            assertEquals(Optional.empty(), javaTimeEpochSecond(text), "java.time rejects " + text);
            assertEquals(IsoDateTimes.NOT_PARSED, IsoDateTimes.parseEpochSecond(text.toCharArray(), 0, text.length()), text);
            assertEquals(OptionalLong.empty(), ColumnType.parseEpochSecond(text), text);
        }
        List<String> handled = List.of("2024-02-29T00:00:00Z", "2000-02-29T23:59:59Z", "2024-01-31T12:00:00.123456789+18:00",
                "2024-01-31T12:00:00-18:00", "2024-01-31T12:00:00-00:00", "2024-01-31 12:00:00.5", "0000-01-01T00:00:00Z",
                "9999-12-31T23:59:59.999999999-18:00");
        for (String text : handled) {
            long fast = IsoDateTimes.parseEpochSecond(text.toCharArray(), 0, text.length());
            assertEquals(javaTimeEpochSecond(text), Optional.of(fast), text);
        }
        // Shapes java.time accepts but the hand parser leaves to it: the combined reading still takes them.
        for (String text : List.of("2024-01-31T12:00Z", "2024-01-31t12:00:00z", "2024-01-31T12:00:00+05:30:15",
                "2024-01-31T12:00:00.Z", "2024-01-31T12:00:00.", "+12024-01-31T12:00:00Z", "2024-01-31T12:00")) {
            assertEquals(IsoDateTimes.NOT_PARSED, IsoDateTimes.parseEpochSecond(text.toCharArray(), 0, text.length()), text);
            Optional<Long> expected = javaTimeEpochSecond(text);
            assertTrue(expected.isPresent(), "java.time accepts " + text);
            assertEquals(OptionalLong.of(expected.get()), ColumnType.parseEpochSecond(text), text);
        }
    }

    @Test
    void handParsedDatesAgreeWithJavaTime() {
        Random random = new Random(SEED);
        for (int n = 0; n < SAMPLES; n++) {
            String text = date(random);
            Optional<LocalDate> expected = javaTimeDate(text);
            long fast = IsoDateTimes.parseEpochDay(text.toCharArray(), 0, text.length());
            if (fast != IsoDateTimes.NOT_PARSED) {
                assertEquals(expected, Optional.of(LocalDate.ofEpochDay(fast)), text);
            } else if (text.length() == 10 && expected.isPresent()) {
                throw new AssertionError("a plain date java.time accepts was left to it: " + text);
            }
            assertEquals(expected, ColumnType.parseDate(text), text);
            boolean storable = expected.filter(d -> d.getYear() >= 1970 && d.getYear() <= 2105).isPresent();
            assertEquals(storable, ColumnType.isStorableDate(text.toCharArray(), 0, text.length()), text);
            assertEquals(storable, ColumnType.DATE.problemWith(TextNode.valueOf(text)).isEmpty(), text);
        }
    }

    @Test
    void dateTimeValidityAndClickhouseTextAreAsWithJavaTime() {
        Random random = new Random(SEED + 1);
        for (int n = 0; n < SAMPLES; n++) {
            String text = dateTime(random).text;
            Optional<Long> seconds = javaTimeEpochSecond(text);
            boolean storable = seconds.filter(s -> s >= FIRST_SECOND && s < END_SECOND).isPresent();
            TextNode value = TextNode.valueOf(text);
            assertEquals(storable, ColumnType.DATETIME.problemWith(value).isEmpty(), text);
            long inPlace = ColumnType.storableDateTime(text.toCharArray(), 0, text.length());
            assertEquals(storable ? seconds.get() : ColumnType.NOT_A_DATE_TIME, inPlace, text);
            if (seconds.isPresent()) {
                String javaTime = LocalDateTime.ofInstant(Instant.ofEpochSecond(seconds.get()), ZoneOffset.UTC).format(CLICKHOUSE);
                assertEquals(javaTime, ColumnType.DATETIME.toClickhouseJson(value).textValue(), text);
            }
        }
    }

    @Test
    void clickhouseTextOfEpochSecondsIsWhatDateTimeFormatterWrites() {
        Random random = new Random(SEED);
        char[] out = new char[ColumnType.CLICKHOUSE_DATE_TIME_LENGTH];
        List<Long> seconds = new ArrayList<>(List.of(FIRST_SECOND, END_SECOND - 1, 951_782_400L, 4_107_542_399L));
        for (int n = 0; n < SAMPLES; n++) {
            seconds.add(FIRST_SECOND + (long) (random.nextDouble() * (END_SECOND - FIRST_SECOND)));
        }
        for (long s : seconds) {
            ColumnType.writeClickhouseDateTime(s, out);
            String expected = LocalDateTime.ofEpochSecond(s, 0, ZoneOffset.UTC).format(CLICKHOUSE);
            assertEquals(expected, new String(out), String.valueOf(s));
            assertEquals(expected, ColumnType.DATETIME.toClickhouseJson(com.fasterxml.jackson.databind.node.LongNode.valueOf(s)).textValue());
        }
    }

    @Test
    void epochSecondsBeyondWhatInstantHoldsAreAProblemNotAnException() {
        for (long seconds : new long[]{Long.MAX_VALUE, Long.MIN_VALUE, Instant.MAX.getEpochSecond() + 1}) {
            Optional<String> problem = ColumnType.DATETIME.problemWith(com.fasterxml.jackson.databind.node.LongNode.valueOf(seconds));
            assertTrue(problem.isPresent(), "epoch seconds " + seconds);
            assertTrue(problem.get().contains("epoch seconds"), problem.get());
        }
    }

    @Test
    void dateTimesOutsideTheStorableRangeAreStillWrittenByJavaTime() {
        assertEquals("1969-12-31 23:59:59", ColumnType.DATETIME.toClickhouseJson(TextNode.valueOf("1969-12-31T23:59:59.5Z")).textValue());
        assertEquals("2106-01-01 00:00:00", ColumnType.DATETIME.toClickhouseJson(TextNode.valueOf("2106-01-01T00:00:00Z")).textValue());
        assertFalse(ColumnType.isStorableDateTime(-1));
        assertFalse(ColumnType.isStorableDateTime(END_SECOND));
        assertNotEquals(ColumnType.NOT_A_DATE_TIME, ColumnType.storableDateTime("2105-12-31T23:59:59Z".toCharArray(), 0, 20));
        assertEquals(ColumnType.NOT_A_DATE_TIME, ColumnType.storableDateTime("2105-12-31T23:59:59-00:01".toCharArray(), 0, 25));
    }

    /** The reading ColumnType had before the hand parser: the reference it must keep. */
    private static Optional<Long> javaTimeEpochSecond(String text) {
        try {
            return Optional.of(OffsetDateTime.parse(text).toInstant().getEpochSecond());
        } catch (DateTimeParseException notOffset) {
            try {
                return Optional.of(LocalDateTime.parse(text.replace(' ', 'T')).toInstant(ZoneOffset.UTC).getEpochSecond());
            } catch (DateTimeParseException notLocal) {
                return Optional.empty();
            }
        }
    }

    private static Optional<LocalDate> javaTimeDate(String text) {
        try {
            return Optional.of(LocalDate.parse(text));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** A generated date-time text; {@code common} when it has one of the shapes the hand parser must take. */
    private record Candidate(String text, boolean common) {
    }

    private static Candidate dateTime(Random r) {
        StringBuilder s = new StringBuilder(date(r));
        boolean common = s.length() == 10;
        int separator = r.nextInt(20);
        boolean space = separator == 0;
        s.append(space ? ' ' : separator == 1 ? 't' : 'T');
        common &= separator != 1;
        s.append(twoDigits(field(r, 24))).append(':').append(twoDigits(field(r, 60)));
        if (r.nextInt(20) == 0) {
            common = false; // no seconds
        } else {
            s.append(':').append(twoDigits(field(r, 60)));
        }
        int fraction = r.nextInt(14);
        if (fraction <= 10) {
            s.append('.');
            for (int i = 0; i < fraction; i++) {
                s.append((char) ('0' + r.nextInt(10)));
            }
            common &= fraction >= 1;
        }
        switch (r.nextInt(space ? 12 : 8)) {
            case 0, 1 -> s.append('Z');
            case 2 -> {
                s.append('z');
                common = false;
            }
            case 3, 4 -> s.append(r.nextBoolean() ? '+' : '-').append(twoDigits(r.nextInt(20))).append(':').append(twoDigits(field(r, 60)));
            case 5 -> {
                s.append('+').append(twoDigits(r.nextInt(19))).append(':').append(twoDigits(r.nextInt(60)))
                        .append(':').append(twoDigits(r.nextInt(60)));
                common = false;
            }
            case 6 -> {
                s.append('-').append(twoDigits(r.nextInt(19))).append(r.nextBoolean() ? twoDigits(r.nextInt(60)) : "");
                common = false;
            }
            default -> {
                // zone-less
            }
        }
        if (r.nextInt(15) == 0) {
            mutate(s, r);
            common = false;
        }
        return new Candidate(s.toString(), common);
    }

    private static String date(Random r) {
        int year = switch (r.nextInt(6)) {
            case 0 -> r.nextInt(10_000);
            case 1 -> new int[]{1900, 2000, 2100, 2104, 2105, 2106, 1969, 1970, 2024, 2023}[r.nextInt(10)];
            default -> 1970 + r.nextInt(136);
        };
        int month = r.nextInt(30) == 0 ? r.nextInt(14) : 1 + r.nextInt(12);
        int day = r.nextInt(4) == 0 ? 28 + r.nextInt(4) : r.nextInt(30) == 0 ? r.nextInt(33) : 1 + r.nextInt(28);
        StringBuilder s = new StringBuilder(String.format("%04d-%s-%s", year, twoDigits(month), twoDigits(day)));
        if (r.nextInt(40) == 0) {
            s.insert(0, r.nextBoolean() ? "+1" : "-");
        }
        if (r.nextInt(40) == 0) {
            mutate(s, r);
        }
        return s.toString();
    }

    /** A field value, now and then one past its range. */
    private static int field(Random r, int bound) {
        return r.nextInt(25) == 0 ? bound : r.nextInt(bound);
    }

    private static void mutate(StringBuilder s, Random r) {
        int at = r.nextInt(s.length());
        String pool = "0123456789-:T .+Z\u0663x";
        char replacement = pool.charAt(r.nextInt(pool.length()));
        switch (r.nextInt(3)) {
            case 0 -> s.setCharAt(at, replacement);
            case 1 -> s.deleteCharAt(at);
            default -> s.insert(at, replacement);
        }
    }

    private static String twoDigits(int value) {
        return value < 10 ? "0" + value : String.valueOf(value);
    }
}
