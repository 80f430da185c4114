package io.moose.flows.model;

import com.fasterxml.jackson.core.JsonFactory;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTextTest {

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    @Test
    void strictUtf8RefusesOverlongFormsEncodedSurrogatesAndTruncatedSequencesAtTheirOffset() {
        assertEquals(-1, JsonText.firstInvalidUtf8("{\"s\":\"é€😀\"}".getBytes(StandardCharsets.UTF_8)));
        assertEquals(6, JsonText.firstInvalidUtf8(bytes('{', '"', 's', '"', ':', '"', 0xC0, 0xAF, '"', '}')), "overlong /");
        assertEquals(6, JsonText.firstInvalidUtf8(bytes('{', '"', 's', '"', ':', '"', 0xED, 0xA0, 0x80, '"', '}')), "CESU-8 surrogate");
        assertEquals(1, JsonText.firstInvalidUtf8(bytes('"', 0xE2, 0x82)), "truncated at the end");
        assertEquals(0, JsonText.firstInvalidUtf8(bytes(0xFF)));
    }

    @Test
    void nestingIsMeasuredAcrossArraysAndObjects() {
        JsonFactory factory = new JsonFactory();
        String depth3 = "[{\"a\":[1]}]";
        assertFalse(JsonText.nestsDeeperThan(depth3.getBytes(StandardCharsets.UTF_8), 3, factory));
        assertTrue(JsonText.nestsDeeperThan(depth3.getBytes(StandardCharsets.UTF_8), 2, factory));
        byte[] deep = ("[".repeat(200_000) + "]".repeat(200_000)).getBytes(StandardCharsets.UTF_8);
        assertTrue(JsonText.nestsDeeperThan(deep, 64, factory));
        assertFalse(JsonText.nestsDeeperThan("[{\"a\":".getBytes(StandardCharsets.UTF_8), 64, factory), "not JSON: left to the parser");
    }

    @Test
    void unpairedSurrogatesAreFoundAndEscapedButPairsAreKept() {
        assertEquals(-1, JsonText.firstLoneSurrogate("a\ud83d\ude00b"));
        assertEquals(1, JsonText.firstLoneSurrogate("a\ud800b"));
        assertEquals(0, JsonText.firstLoneSurrogate("\ude00"));
        assertEquals(2, JsonText.firstLoneSurrogate("ab\ud83d"));
        assertEquals("a\\ud800b\ud83d\ude00", JsonText.escapeLoneSurrogates("a\ud800b\ud83d\ude00"));
        char[] text = "xx\ud800".toCharArray();
        assertEquals(-1, JsonText.firstLoneSurrogate(text, 0, 2));
        assertEquals(2, JsonText.firstLoneSurrogate(text, 0, 3));
    }
}
