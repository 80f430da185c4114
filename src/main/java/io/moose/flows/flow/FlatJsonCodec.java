package io.moose.flows.flow;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;

/**
 * Reads and writes the transform hop's JSON trees, the same trees and bytes Jackson's
 * {@code readTree} / {@code writeValueAsBytes} give, faster for the records most flows carry:
 * one flat object of ASCII strings without escapes, integers, booleans and nulls. Anything else
 * (nesting, arrays, fractions, escapes, non-ASCII, malformed input) goes to Jackson whole, so the
 * result and the errors are Jackson's.
 *
 * <p>Why: on small records Jackson's per-call set-up (a deserialization context, a generator, a
 * serializer provider) costs more than the bytes; reading and writing were two thirds of the
 * transform hop's per-record CPU (ops/bench). Not thread-safe: one instance per transform slice.
 */
final class FlatJsonCodec {

    /** Integers with more digits may not fit a long: Jackson reads them. */
    private static final int MAX_FAST_DIGITS = 18;
    private static final int INITIAL_BUFFER = 512;
    /** Field names remembered by position: the records of one topic repeat the same names in the same order. */
    private static final int REMEMBERED_NAMES = 32;

    private final ObjectMapper json;
    private final JsonNodeFactory nodes;
    private final boolean fastReads;
    private final boolean fastWrites;
    private final String[] names = new String[REMEMBERED_NAMES];
    private final byte[][] nameBytes = new byte[REMEMBERED_NAMES][];
    private byte[] out = new byte[INITIAL_BUFFER];
    private int length;

    // read position over the current input
    private byte[] in;
    private int pos;

    FlatJsonCodec(ObjectMapper json) {
        this.json = json;
        this.nodes = json.getNodeFactory();
        // Settings under which Jackson would read or write these records differently keep them on Jackson.
        this.fastReads = !json.isEnabled(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
                && !json.isEnabled(DeserializationFeature.USE_LONG_FOR_INTS)
                && !json.isEnabled(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                && !json.isEnabled(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        this.fastWrites = !json.isEnabled(SerializationFeature.INDENT_OUTPUT)
                && !json.getFactory().isEnabled(JsonGenerator.Feature.WRITE_NUMBERS_AS_STRINGS)
                && !json.getFactory().isEnabled(JsonGenerator.Feature.ESCAPE_NON_ASCII);
    }

    /** The tree of {@code bytes}, exactly as {@code json.readTree(bytes)} gives it. */
    JsonNode read(byte[] bytes) throws IOException {
        ObjectNode fast = fastReads ? readFlatObject(bytes) : null;
        return fast != null ? fast : json.readTree(bytes);
    }

    /** The bytes of {@code node}, exactly as {@code json.writeValueAsBytes(node)} gives them. */
    byte[] write(ObjectNode node) throws IOException {
        return fastWrites && writeFlatObject(node) ? Arrays.copyOf(out, length) : json.writeValueAsBytes(node);
    }

    /** The flat object in {@code bytes}, or null when it is anything else. */
    private ObjectNode readFlatObject(byte[] bytes) {
        in = bytes;
        pos = 0;
        try {
            skipWhitespace();
            if (!consume('{')) {
                return null;
            }
            ObjectNode object = nodes.objectNode();
            skipWhitespace();
            if (consume('}')) {
                return endOfInput() ? object : null;
            }
            while (true) {
                skipWhitespace();
                if (!consume('"')) {
                    return null;
                }
                String name = fieldName(object.size());
                if (name == null) {
                    return null;
                }
                skipWhitespace();
                if (!consume(':')) {
                    return null;
                }
                skipWhitespace();
                JsonNode value = scalar();
                if (value == null) {
                    return null;
                }
                object.set(name, value);
                skipWhitespace();
                if (consume('}')) {
                    return endOfInput() ? object : null;
                }
                if (!consume(',')) {
                    return null;
                }
            }
        } finally {
            in = null;
        }
    }

    private JsonNode scalar() {
        if (pos >= in.length) {
            return null;
        }
        byte b = in[pos];
        if (b == '"') {
            pos++;
            String text = plainString();
            return text == null ? null : nodes.textNode(text);
        }
        if (b == '-' || (b >= '0' && b <= '9')) {
            return integer();
        }
        if (literal("true")) {
            return nodes.booleanNode(true);
        }
        if (literal("false")) {
            return nodes.booleanNode(false);
        }
        if (literal("null")) {
            return nodes.nullNode();
        }
        return null;
    }

    /**
     * The field name at {@code position} after its opening quote, as {@link #plainString} reads it;
     * the same String as last time when the bytes are the same, so its hash is already computed.
     */
    private String fieldName(int position) {
        if (position >= REMEMBERED_NAMES) {
            return plainString();
        }
        int start = pos;
        byte[] known = nameBytes[position];
        int end = start + (known == null ? 0 : known.length);
        if (known != null && end < in.length && in[end] == '"' && Arrays.equals(in, start, end, known, 0, known.length)) {
            pos = end + 1;
            return names[position];
        }
        String name = plainString();
        if (name != null) {
            names[position] = name;
            nameBytes[position] = Arrays.copyOfRange(in, start, pos - 1);
        }
        return name;
    }

    /** The rest of a string after its opening quote, or null when it holds an escape, a control character or non-ASCII. */
    private String plainString() {
        int start = pos;
        while (pos < in.length) {
            byte b = in[pos];
            if (b == '"') {
                String text = new String(in, start, pos - start, StandardCharsets.ISO_8859_1);
                pos++;
                return text;
            }
            // negative: a UTF-8 lead or continuation byte
            if (b == '\\' || b < 0x20) {
                return null;
            }
            pos++;
        }
        return null;
    }

    /** An integer in JSON's grammar that fits a long, or null (fractions, exponents and leading zeros go to Jackson). */
    private JsonNode integer() {
        boolean negative = consume('-');
        int start = pos;
        long value = 0;
        while (pos < in.length && in[pos] >= '0' && in[pos] <= '9') {
            value = value * 10 + (in[pos] - '0');
            pos++;
        }
        int digits = pos - start;
        if (digits == 0 || digits > MAX_FAST_DIGITS || (digits > 1 && in[start] == '0')) {
            return null;
        }
        if (pos < in.length && (in[pos] == '.' || in[pos] == 'e' || in[pos] == 'E')) {
            return null;
        }
        long signed = negative ? -value : value;
        // Jackson's tree holds an int when the number fits one
        return signed == (int) signed ? nodes.numberNode((int) signed) : nodes.numberNode(signed);
    }

    private boolean literal(String word) {
        int end = pos + word.length();
        if (end > in.length) {
            return false;
        }
        for (int i = 0; i < word.length(); i++) {
            if (in[pos + i] != word.charAt(i)) {
                return false;
            }
        }
        pos = end;
        return true;
    }

    private boolean consume(char expected) {
        if (pos < in.length && in[pos] == expected) {
            pos++;
            return true;
        }
        return false;
    }

    private void skipWhitespace() {
        while (pos < in.length && (in[pos] == ' ' || in[pos] == '\n' || in[pos] == '\r' || in[pos] == '\t')) {
            pos++;
        }
    }

    private boolean endOfInput() {
        skipWhitespace();
        return pos == in.length;
    }

    /** Writes {@code node} into {@code out}; false when it holds anything but plain strings, integers, booleans and nulls. */
    private boolean writeFlatObject(ObjectNode node) {
        length = 0;
        put('{');
        boolean first = true;
        for (Iterator<Map.Entry<String, JsonNode>> fields = node.fields(); fields.hasNext(); ) {
            Map.Entry<String, JsonNode> field = fields.next();
            if (!first) {
                put(',');
            }
            first = false;
            if (!putPlainString(field.getKey())) {
                return false;
            }
            put(':');
            JsonNode value = field.getValue();
            switch (value.getNodeType()) {
                case STRING -> {
                    if (!putPlainString(value.textValue())) {
                        return false;
                    }
                }
                case NUMBER -> {
                    if (!(value.isInt() || value.isLong())) {
                        return false;
                    }
                    putAscii(Long.toString(value.longValue()));
                }
                case BOOLEAN -> putAscii(value.booleanValue() ? "true" : "false");
                case NULL -> putAscii("null");
                default -> {
                    return false;
                }
            }
        }
        put('}');
        return true;
    }

    /** A quoted string as Jackson writes it when nothing in it needs escaping; false otherwise. */
    private boolean putPlainString(String text) {
        int n = text.length();
        ensure(n + 2);
        byte[] buffer = out;
        int at = length;
        buffer[at++] = '"';
        for (int i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
                return false;
            }
            buffer[at++] = (byte) c;
        }
        buffer[at++] = '"';
        length = at;
        return true;
    }

    private void putAscii(String text) {
        int n = text.length();
        ensure(n);
        for (int i = 0; i < n; i++) {
            out[length++] = (byte) text.charAt(i);
        }
    }

    private void put(char c) {
        ensure(1);
        out[length++] = (byte) c;
    }

    private void ensure(int more) {
        if (length + more > out.length) {
            out = Arrays.copyOf(out, Math.max(out.length * 2, length + more));
        }
    }
}
