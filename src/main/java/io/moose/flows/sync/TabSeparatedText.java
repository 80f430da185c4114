package io.moose.flows.sync;

/**
 * Values as ClickHouse's TabSeparated input reads them on 18.16 and current releases: only the basic
 * backslash escapes every version knows, UTF-8 text, {@code \N} for NULL.
 */
final class TabSeparatedText {

    static final byte FIELD_SEPARATOR = '\t';
    static final byte ROW_END = '\n';
    static final byte[] NULL = {'\\', 'N'};

    /** The most UTF-8 bytes (or escape bytes) one UTF-16 char becomes; a surrogate pair becomes 4. */
    private static final int MAX_BYTES_PER_CHAR = 3;
    private static final int ASCII_END = 0x80;
    /** Chars below this are two bytes in UTF-8, the rest (but pairs) three. */
    private static final int TWO_BYTE_END = 0x800;
    /** For each ASCII char, the letter after the backslash that escapes it, or 0 for none needed. */
    private static final byte[] ESCAPES = new byte[ASCII_END];

    static {
        ESCAPES['\\'] = '\\';
        ESCAPES['\t'] = 't';
        ESCAPES['\n'] = 'n';
        ESCAPES['\r'] = 'r';
        // Not needed by the format, but escaped as ClickHouse itself writes them.
        ESCAPES['\0'] = '0';
        ESCAPES['\b'] = 'b';
        ESCAPES['\f'] = 'f';
    }

    private TabSeparatedText() {
    }

    /**
     * Writes text escaped and UTF-8 encoded. A surrogate pair becomes its code point's four bytes, as
     * ClickHouse decodes the pair's two JSON escapes. A lone surrogate becomes the three bytes of its
     * own code unit: what ClickHouse stores for a lone low surrogate escape in JSON (a lone high one
     * fails a JSONEachRow INSERT outright), and not the '?' that String.getBytes would make of it.
     */
    static void writeString(char[] text, int from, int length, RowBuffer out) {
        byte[] b = out.reserve(MAX_BYTES_PER_CHAR * length);
        int at = out.size();
        int end = from + length;
        for (int i = from; i < end; i++) {
            char c = text[i];
            if (c < ASCII_END) {
                byte escape = ESCAPES[c];
                if (escape == 0) {
                    b[at++] = (byte) c;
                } else {
                    b[at++] = '\\';
                    b[at++] = escape;
                }
            } else if (c < TWO_BYTE_END) {
                b[at++] = (byte) (0xC0 | (c >> 6));
                b[at++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(text[i + 1])) {
                int codePoint = Character.toCodePoint(c, text[++i]);
                b[at++] = (byte) (0xF0 | (codePoint >> 18));
                b[at++] = (byte) (0x80 | ((codePoint >> 12) & 0x3F));
                b[at++] = (byte) (0x80 | ((codePoint >> 6) & 0x3F));
                b[at++] = (byte) (0x80 | (codePoint & 0x3F));
            } else {
                b[at++] = (byte) (0xE0 | (c >> 12));
                b[at++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                b[at++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        out.grew(at);
    }

    static void writeString(String text, RowBuffer out) {
        writeString(text.toCharArray(), 0, text.length(), out);
    }

    /**
     * A Float64 column's value as the ingress takes it (see SinkFence): the unsigned decimal of the
     * double's 64 bits, which ClickHouse reads exactly, where its reading of a float's text may be a
     * bit off. NaN is written in its canonical form.
     */
    static void writeFloat64Bits(double value, RowBuffer out) {
        out.writeAscii(Long.toUnsignedString(Double.doubleToLongBits(value)));
    }

    /**
     * A double as the JSON path prints it (Double.toString, which ClickHouse parses to the same
     * double). The non-finite ones, which the JSON path writes as the strings "Infinity" and "NaN",
     * are written in ClickHouse's own spelling, which every version reads back as the same value.
     */
    static void writeDouble(double value, RowBuffer out) {
        if (Double.isNaN(value)) {
            out.writeAscii("nan");
        } else if (Double.isInfinite(value)) {
            out.writeAscii(value > 0 ? "inf" : "-inf");
        } else {
            out.writeAscii(Double.toString(value));
        }
    }
}
