package io.moose.flows.model;

import java.time.LocalDate;
import java.time.Month;
import java.time.Year;

/**
 * Hand-written reading and writing of the ISO-8601 shapes records nearly always carry, so the sink's
 * per-record work needs neither a DateTimeFormatter nor exceptions as control flow.
 *
 * <p>The parsers recognise a subset of what java.time's ISO parsers accept and, for that subset,
 * answer exactly as java.time would (same fields, same range checks). Anything else, including a
 * recognised shape with a field out of range, is {@link #NOT_PARSED}: the caller then asks java.time,
 * so what is accepted, and how, never depends on this class.
 */
final class IsoDateTimes {

    /** The answer for text outside the recognised shapes or with a field out of range. */
    static final long NOT_PARSED = Long.MIN_VALUE;
    /** Length of ClickHouse's {@code yyyy-MM-dd HH:mm:ss}. */
    static final int CLICKHOUSE_LENGTH = 19;

    /** {@code yyyy-MM-dd}, and where each field starts in it. */
    private static final int DATE_LENGTH = 10;
    private static final int YEAR_AT = 0;
    private static final int MONTH_AT = 5;
    private static final int DAY_AT = 8;
    private static final int[] DATE_DASHES = {4, 7};
    /** {@code yyyy-MM-ddTHH:mm:ss}, and where each field after the date starts in it. */
    private static final int DATE_TIME_LENGTH = 19;
    private static final int SEPARATOR_AT = 10;
    private static final int HOUR_AT = 11;
    private static final int MINUTE_AT = 14;
    private static final int SECOND_AT = 17;
    private static final int[] TIME_COLONS = {13, 16};
    /** java.time reads at most nanoseconds; a tenth digit makes the text invalid there. */
    private static final int MAX_FRACTION_DIGITS = 9;
    /** {@code +HH:MM}, and where its fields start in it. */
    private static final int OFFSET_LENGTH = 6;
    private static final int OFFSET_HOUR_AT = 1;
    private static final int OFFSET_COLON_AT = 3;
    private static final int OFFSET_MINUTE_AT = 4;

    private static final int HOURS_PER_DAY = 24;
    private static final int MINUTES_PER_HOUR = 60;
    private static final int SECONDS_PER_MINUTE = 60;
    private static final int SECONDS_PER_HOUR = SECONDS_PER_MINUTE * MINUTES_PER_HOUR;
    private static final long SECONDS_PER_DAY = (long) SECONDS_PER_HOUR * HOURS_PER_DAY;
    /** ZoneOffset's limit: +-18:00. */
    private static final int MAX_OFFSET_SECONDS = 18 * SECONDS_PER_HOUR;
    private static final int MONTHS_PER_YEAR = 12;
    /** The first second whose year no longer fits the four digits of the ClickHouse form. */
    private static final long END_OF_FOUR_DIGIT_YEARS = LocalDate.of(10_000, 1, 1).toEpochDay() * SECONDS_PER_DAY;

    private IsoDateTimes() {
    }

    /**
     * Epoch seconds (floored, like {@code Instant.getEpochSecond}) of
     * {@code yyyy-MM-ddTHH:mm:ss[.f{1,9}](Z|+HH:MM|-HH:MM)} or the zone-less
     * {@code yyyy-MM-dd(T| )HH:mm:ss[.f{1,9}]}, which is taken as UTC; otherwise {@link #NOT_PARSED}.
     */
    static long parseEpochSecond(char[] text, int offset, int length) {
        if (length < DATE_TIME_LENGTH) {
            return NOT_PARSED;
        }
        long day = epochDay(text, offset);
        char separator = text[offset + SEPARATOR_AT];
        if (day == NOT_PARSED || (separator != 'T' && separator != ' ')
                || text[offset + TIME_COLONS[0]] != ':' || text[offset + TIME_COLONS[1]] != ':') {
            return NOT_PARSED;
        }
        int hour = twoDigits(text, offset + HOUR_AT);
        int minute = twoDigits(text, offset + MINUTE_AT);
        int second = twoDigits(text, offset + SECOND_AT);
        // twoDigits is negative for a non-digit, so one comparison per field covers both ends.
        if (hour < 0 || hour >= HOURS_PER_DAY || minute < 0 || minute >= MINUTES_PER_HOUR
                || second < 0 || second >= SECONDS_PER_MINUTE) {
            return NOT_PARSED;
        }
        int end = offset + length;
        int at = offset + DATE_TIME_LENGTH;
        if (at < end && text[at] == '.') {
            int digitsFrom = ++at;
            while (at < end && isDigit(text[at])) {
                at++;
            }
            // The fraction only ever rounds down, so its digits matter only for their count.
            if (at == digitsFrom || at - digitsFrom > MAX_FRACTION_DIGITS) {
                return NOT_PARSED;
            }
        }
        int offsetSeconds;
        if (at == end) {
            offsetSeconds = 0;
        } else if (separator != 'T') {
            // The space form is read as a local date-time only, so it never carries a zone.
            return NOT_PARSED;
        } else if (end - at == 1 && text[at] == 'Z') {
            offsetSeconds = 0;
        } else if (end - at == OFFSET_LENGTH && (text[at] == '+' || text[at] == '-')
                && text[at + OFFSET_COLON_AT] == ':') {
            int hours = twoDigits(text, at + OFFSET_HOUR_AT);
            int minutes = twoDigits(text, at + OFFSET_MINUTE_AT);
            if (hours < 0 || minutes < 0 || minutes >= MINUTES_PER_HOUR) {
                return NOT_PARSED;
            }
            int total = hours * SECONDS_PER_HOUR + minutes * SECONDS_PER_MINUTE;
            if (total > MAX_OFFSET_SECONDS) {
                return NOT_PARSED;
            }
            offsetSeconds = text[at] == '-' ? -total : total;
        } else {
            return NOT_PARSED;
        }
        return day * SECONDS_PER_DAY + (long) hour * SECONDS_PER_HOUR + (long) minute * SECONDS_PER_MINUTE + second
                - offsetSeconds;
    }

    /** Epoch day of exactly {@code yyyy-MM-dd}, as {@code LocalDate.parse} reads it; otherwise {@link #NOT_PARSED}. */
    static long parseEpochDay(char[] text, int offset, int length) {
        return length == DATE_LENGTH ? epochDay(text, offset) : NOT_PARSED;
    }

    /**
     * Writes {@code yyyy-MM-dd HH:mm:ss} in UTC into {@code out[0..CLICKHOUSE_LENGTH)}. Only for
     * non-negative seconds before the year 10000, where the year has exactly four digits.
     */
    static void formatClickhouse(long epochSecond, char[] out) {
        if (epochSecond < 0 || epochSecond >= END_OF_FOUR_DIGIT_YEARS) {
            throw new IllegalArgumentException("not between 1970 and the year 9999: " + epochSecond);
        }
        LocalDate date = LocalDate.ofEpochDay(epochSecond / SECONDS_PER_DAY);
        int secondOfDay = (int) (epochSecond % SECONDS_PER_DAY);
        int year = date.getYear();
        putTwoDigits(out, YEAR_AT, year / 100);
        putTwoDigits(out, YEAR_AT + 2, year % 100);
        out[DATE_DASHES[0]] = '-';
        putTwoDigits(out, MONTH_AT, date.getMonthValue());
        out[DATE_DASHES[1]] = '-';
        putTwoDigits(out, DAY_AT, date.getDayOfMonth());
        out[SEPARATOR_AT] = ' ';
        putTwoDigits(out, HOUR_AT, secondOfDay / SECONDS_PER_HOUR);
        out[TIME_COLONS[0]] = ':';
        putTwoDigits(out, MINUTE_AT, secondOfDay / SECONDS_PER_MINUTE % MINUTES_PER_HOUR);
        out[TIME_COLONS[1]] = ':';
        putTwoDigits(out, SECOND_AT, secondOfDay % SECONDS_PER_MINUTE);
    }

    /** Epoch day of the {@code yyyy-MM-dd} at {@code offset} (the caller checked the length), or NOT_PARSED. */
    private static long epochDay(char[] text, int offset) {
        int century = twoDigits(text, offset + YEAR_AT);
        int yearOfCentury = twoDigits(text, offset + YEAR_AT + 2);
        int month = twoDigits(text, offset + MONTH_AT);
        int day = twoDigits(text, offset + DAY_AT);
        if (century < 0 || yearOfCentury < 0 || text[offset + DATE_DASHES[0]] != '-' || text[offset + DATE_DASHES[1]] != '-'
                || month < 1 || month > MONTHS_PER_YEAR || day < 1) {
            return NOT_PARSED;
        }
        int year = century * 100 + yearOfCentury;
        // java.time's ISO parsers resolve strictly: February 29th only in leap years, no April 31st.
        if (day > Month.of(month).length(Year.isLeap(year))) {
            return NOT_PARSED;
        }
        return LocalDate.of(year, month, day).toEpochDay();
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    /** The two ASCII digits at {@code at} as a number, or -1 (java.time reads only ASCII digits). */
    private static int twoDigits(char[] text, int at) {
        char tens = text[at];
        char ones = text[at + 1];
        return isDigit(tens) && isDigit(ones) ? (tens - '0') * 10 + (ones - '0') : -1;
    }

    private static void putTwoDigits(char[] out, int at, int value) {
        out[at] = (char) ('0' + value / 10);
        out[at + 1] = (char) ('0' + value % 10);
    }
}
