package io.moose.flows.clickhouse;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * Splits ClickHouse's TabSeparated output into rows and fields without copying them: a field is a
 * range of {@link #buffer()} still in TabSeparated's escaped form ({@code \t}, {@code \n},
 * {@code \\}, ... and {@code \N} for NULL), valid until the next {@link #next()}. Every row must
 * end in a line feed: a body that stops inside a row (a response broken off) is an error, never a
 * shorter row. Not thread-safe.
 */
public final class TabSeparatedReader {

    private static final int INITIAL_BUFFER = 64 * 1024;
    private static final int INITIAL_FIELDS = 16;

    private final InputStream in;
    private byte[] buf = new byte[INITIAL_BUFFER];
    /** Bytes of {@link #buf} read from the stream; [rowStart, filled) not handed out yet. */
    private int filled;
    private int rowStart;
    /** The current row: [lineStart, lineEnd), lineEnd at its line feed. */
    private int lineStart;
    private int lineEnd;
    private int[] starts = new int[INITIAL_FIELDS];
    private int[] ends = new int[INITIAL_FIELDS];
    private int fields;

    public TabSeparatedReader(InputStream in) {
        this.in = in;
    }

    /** Reads the next row; its field count, or -1 at the end of the body (0 never: empty lines are skipped). */
    public int next() throws IOException {
        while (true) {
            int lf = nextLineFeed();
            if (lf < 0) {
                return -1;
            }
            lineStart = rowStart;
            lineEnd = lf;
            rowStart = lf + 1;
            if (lineEnd > lineStart) {
                split();
                return fields;
            }
        }
    }

    /** The offset of the next line feed at or after {@link #rowStart}, reading more as needed; -1 at a clean end. */
    private int nextLineFeed() throws IOException {
        int from = rowStart;
        while (true) {
            for (int i = from; i < filled; i++) {
                if (buf[i] == '\n') {
                    return i;
                }
            }
            int scanned = filled - rowStart;
            if (!fill()) {
                if (rowStart < filled) {
                    throw new IOException("the response ends inside a row (" + (filled - rowStart) + " bytes without a line feed)");
                }
                return -1;
            }
            from = rowStart + scanned;
        }
    }

    /** Reads more bytes after the unread ones, first moving them to the front; false at the end of the stream. */
    private boolean fill() throws IOException {
        if (rowStart > 0) {
            System.arraycopy(buf, rowStart, buf, 0, filled - rowStart);
            filled -= rowStart;
            rowStart = 0;
        }
        if (filled == buf.length) {
            buf = Arrays.copyOf(buf, buf.length * 2);
        }
        int n = in.read(buf, filled, buf.length - filled);
        if (n < 0) {
            return false;
        }
        filled += n;
        return true;
    }

    private void split() {
        fields = 0;
        int fieldStart = lineStart;
        for (int i = lineStart; i <= lineEnd; i++) {
            if (i == lineEnd || buf[i] == '\t') {
                if (fields == starts.length) {
                    starts = Arrays.copyOf(starts, fields * 2);
                    ends = Arrays.copyOf(ends, fields * 2);
                }
                starts[fields] = fieldStart;
                ends[fields] = i;
                fields++;
                fieldStart = i + 1;
            }
        }
    }

    /** Fields of the current row. */
    public int fields() {
        return fields;
    }

    public byte[] buffer() {
        return buf;
    }

    public int fieldStart(int field) {
        return starts[field];
    }

    public int fieldEnd(int field) {
        return ends[field];
    }

    /** Whether the field is TabSeparated's NULL ({@code \N}). */
    public boolean isNull(int field) {
        return ends[field] - starts[field] == 2 && buf[starts[field]] == '\\' && buf[starts[field] + 1] == 'N';
    }

    /** The field as an integer; throws NumberFormatException for anything else. */
    public long longField(int field) {
        int i = starts[field];
        int end = ends[field];
        boolean negative = i < end && buf[i] == '-';
        if (negative) {
            i++;
        }
        if (i == end || end - i > 19) {
            throw new NumberFormatException("not an integer: " + text(field));
        }
        long value = 0;
        for (; i < end; i++) {
            int d = buf[i] - '0';
            if (d < 0 || d > 9) {
                throw new NumberFormatException("not an integer: " + text(field));
            }
            value = value * 10 - d;
            if (value > 0) {
                throw new NumberFormatException("out of range: " + text(field));
            }
        }
        if (!negative && value == Long.MIN_VALUE) {
            throw new NumberFormatException("out of range: " + text(field));
        }
        return negative ? value : -value;
    }

    /** The field unescaped, as text (UTF-8). */
    public String text(int field) {
        byte[] out = new byte[ends[field] - starts[field]];
        int n = unescape(buf, starts[field], ends[field], out);
        return new String(out, 0, n, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The whole current row as it came, for error messages. */
    public String rawRow() {
        return new String(buf, lineStart, lineEnd - lineStart, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Unescapes TabSeparated bytes [from, to) of {@code in} into {@code out}; returns the length written. */
    static int unescape(byte[] in, int from, int to, byte[] out) {
        int n = 0;
        for (int i = from; i < to; i++) {
            byte b = in[i];
            if (b == '\\' && i + 1 < to) {
                b = unescaped(in[++i]);
            }
            out[n++] = b;
        }
        return n;
    }

    /** The byte a backslash followed by {@code escaped} stands for. */
    public static byte unescaped(byte escaped) {
        return switch (escaped) {
            case 'b' -> '\b';
            case 'f' -> '\f';
            case 'n' -> '\n';
            case 'r' -> '\r';
            case 't' -> '\t';
            case '0' -> 0;
            default -> escaped;
        };
    }
}
