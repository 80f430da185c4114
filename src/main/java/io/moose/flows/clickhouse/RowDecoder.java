package io.moose.flows.clickhouse;

import io.moose.flows.model.Column;
import io.moose.flows.model.ColumnType;
import io.moose.flows.model.ModelVersion;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Turns a row ClickHouse printed as TabSeparated (the model's columns first, in the model's order)
 * back into a record of the model version, the inverse of what the table sink writes: the record's
 * JSON bytes written straight from the row's bytes, as Jackson would write the record (booleans
 * stored as UInt8 become true/false, 64-bit integers plain numbers, NULL null), with no tree in
 * between: building and writing a Jackson tree per row was most of an initial load's CPU.
 * Not thread-safe: one per reader.
 */
public final class RowDecoder {

    private static final byte[] NULL = "null".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FALSE = "false".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HEX = "0123456789ABCDEF".getBytes(StandardCharsets.US_ASCII);

    private final ColumnType[] types;
    /** Per column: {@code {"name":} for the first, {@code ,"name":} for the others. */
    private final byte[][] prefixes;
    private byte[] out = new byte[512];
    private int length;

    public RowDecoder(ModelVersion version) {
        List<Column> columns = version.columns();
        this.types = columns.stream().map(Column::type).toArray(ColumnType[]::new);
        this.prefixes = new byte[columns.size()][];
        for (int i = 0; i < columns.size(); i++) {
            // column names are plain identifiers (the model's validation), nothing to escape
            prefixes[i] = ((i == 0 ? "{\"" : ",\"") + columns.get(i).name() + "\":").getBytes(StandardCharsets.UTF_8);
        }
    }

    /** Fields of a row the decoder reads: the model's columns. */
    public int columns() {
        return types.length;
    }

    /**
     * The record of the current row of {@code row} as JSON bytes; throws IllegalArgumentException
     * when a field is not a value of its column's type.
     */
    public byte[] record(TabSeparatedReader row) {
        return Arrays.copyOf(out, encode(row));
    }

    /**
     * Writes the record of the current row of {@code row} into this decoder's buffer, {@link #encoded()},
     * and answers its length: for a caller that packs many records into one array of its own
     * instead of holding an array per record. Throws as {@link #record} does.
     */
    public int encode(TabSeparatedReader row) {
        length = 0;
        byte[] in = row.buffer();
        for (int c = 0; c < types.length; c++) {
            append(prefixes[c]);
            int from = row.fieldStart(c);
            int to = row.fieldEnd(c);
            if (row.isNull(c)) {
                append(NULL);
                continue;
            }
            switch (types[c]) {
                case STRING, DATETIME, DATE -> string(in, from, to);
                case INT32, INT64 -> integer(in, from, to, c);
                case FLOAT64 -> number(in, from, to, c);
                case BOOLEAN -> append(to - from == 1 && in[from] == '0' ? FALSE : TRUE);
            }
        }
        ensure(1);
        out[length++] = '}';
        return length;
    }

    /** The buffer the last {@link #encode} wrote its record to, from index 0; overwritten by the next. */
    public byte[] encoded() {
        return out;
    }

    /** A JSON string of the unescaped bytes, escaped as Jackson escapes: quote, backslash, control characters. */
    private void string(byte[] in, int from, int to) {
        ensure((to - from) * 6 + 2);
        byte[] o = out;
        int n = length;
        o[n++] = '"';
        for (int i = from; i < to; i++) {
            byte b = in[i];
            if (b == '\\' && i + 1 < to) {
                b = TabSeparatedReader.unescaped(in[++i]);
            }
            if (b == '"' || b == '\\') {
                o[n++] = '\\';
                o[n++] = b;
            } else if (b >= 0 && b < 0x20) {
                o[n++] = '\\';
                switch (b) {
                    case '\n' -> o[n++] = 'n';
                    case '\t' -> o[n++] = 't';
                    case '\r' -> o[n++] = 'r';
                    case '\b' -> o[n++] = 'b';
                    case '\f' -> o[n++] = 'f';
                    default -> {
                        o[n++] = 'u';
                        o[n++] = '0';
                        o[n++] = '0';
                        o[n++] = HEX[b >> 4];
                        o[n++] = HEX[b & 0xF];
                    }
                }
            } else {
                o[n++] = b;
            }
        }
        o[n++] = '"';
        length = n;
    }

    private void integer(byte[] in, int from, int to, int column) {
        int i = from < to && in[from] == '-' ? from + 1 : from;
        if (i == to) {
            throw notA(column, in, from, to);
        }
        for (; i < to; i++) {
            if (in[i] < '0' || in[i] > '9') {
                throw notA(column, in, from, to);
            }
        }
        append(in, from, to);
    }

    /**
     * A Float64 as ClickHouse printed it when that is a JSON number (it prints 1 for 1.0, 1e+20 for
     * 1e20: the same numbers); inf and nan have no JSON form and become null.
     */
    private void number(byte[] in, int from, int to, int column) {
        int i = from;
        if (i < to && in[i] == '-') {
            i++;
        }
        if (i < to && (in[i] == 'i' || in[i] == 'n' || in[i] == '+')) {
            String text = new String(in, from, to - from, StandardCharsets.US_ASCII);
            if (text.matches("[+-]?(inf|nan)")) {
                append(NULL);
                return;
            }
            throw notA(column, in, from, to);
        }
        if (!isJsonNumber(in, i, to)) {
            throw notA(column, in, from, to);
        }
        append(in, from, to);
    }

    /** digits [. digits] [e|E [+|-] digits], no leading zeros but a single one (the sign already skipped). */
    private static boolean isJsonNumber(byte[] in, int i, int to) {
        int digits = digits(in, i, to);
        if (digits == 0 || (digits > 1 && in[i] == '0')) {
            return false;
        }
        i += digits;
        if (i < to && in[i] == '.') {
            int fraction = digits(in, ++i, to);
            if (fraction == 0) {
                return false;
            }
            i += fraction;
        }
        if (i < to && (in[i] == 'e' || in[i] == 'E')) {
            i++;
            if (i < to && (in[i] == '+' || in[i] == '-')) {
                i++;
            }
            int exponent = digits(in, i, to);
            if (exponent == 0) {
                return false;
            }
            i += exponent;
        }
        return i == to;
    }

    private static int digits(byte[] in, int from, int to) {
        int i = from;
        while (i < to && in[i] >= '0' && in[i] <= '9') {
            i++;
        }
        return i - from;
    }

    private IllegalArgumentException notA(int column, byte[] in, int from, int to) {
        return new IllegalArgumentException("column " + (column + 1) + " is not a " + types[column].declaredName() + ": "
                + new String(in, from, Math.min(to - from, 100), StandardCharsets.UTF_8));
    }

    private void append(byte[] bytes) {
        append(bytes, 0, bytes.length);
    }

    private void append(byte[] bytes, int from, int to) {
        ensure(to - from);
        System.arraycopy(bytes, from, out, length, to - from);
        length += to - from;
    }

    private void ensure(int more) {
        if (length + more > out.length) {
            out = Arrays.copyOf(out, Math.max(out.length * 2, length + more));
        }
    }
}
