package io.moose.flows.model;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Checks on JSON text that Jackson does not make: strict UTF-8 (Jackson decodes overlong forms and
 * encoded surrogates without complaint), well-formed Unicode strings (an escaped lone surrogate
 * such as backslash-u-d800 parses into a string no UTF-8 writer can encode), and nesting depth
 * (Jackson 2.13 builds trees recursively, so a deep enough document overflows the stack).
 */
public final class JsonText {

    private JsonText() {
    }

    /** The byte offset of the first byte that is not strict UTF-8, or -1 when all of it is. */
    public static long firstInvalidUtf8(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(Math.min(bytes.length, 8192) + 1);
        while (true) {
            CoderResult result = decoder.decode(in, out, true);
            if (result.isError()) {
                return in.position();
            }
            if (result.isUnderflow()) {
                result = decoder.flush(out);
                return result.isError() ? in.position() : -1;
            }
            out.clear();
        }
    }

    /**
     * Whether the document nests arrays and objects deeper than {@code maxDepth} (a top-level array
     * of flat records is depth 2). Text that is not JSON answers false: the caller's parser reports it.
     */
    public static boolean nestsDeeperThan(byte[] json, int maxDepth, JsonFactory factory) {
        int depth = 0;
        try (JsonParser p = factory.createParser(json)) {
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                    if (++depth > maxDepth) {
                        return true;
                    }
                } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                    depth--;
                }
            }
        } catch (IOException notJson) {
            return false;
        }
        return false;
    }

    /** The index of the first unpaired surrogate in {@code text[from, from + length)}, or -1. */
    public static int firstLoneSurrogate(char[] text, int from, int length) {
        int end = from + length;
        for (int i = from; i < end; i++) {
            char c = text[i];
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(text[i + 1])) {
                    i++;
                } else {
                    return i - from;
                }
            }
        }
        return -1;
    }

    /** The index of the first unpaired surrogate in {@code text}, or -1. */
    public static int firstLoneSurrogate(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                    i++;
                } else {
                    return i;
                }
            }
        }
        return -1;
    }

    /** {@code text} with every unpaired surrogate written as a JSON escape, so a reply can quote it. */
    public static String escapeLoneSurrogates(String text) {
        if (firstLoneSurrogate(text) < 0) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                out.append(c).append(text.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
