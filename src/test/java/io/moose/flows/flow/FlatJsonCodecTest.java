package io.moose.flows.flow;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The codec must be indistinguishable from Jackson: same trees (types, field order), same bytes, same errors. */
class FlatJsonCodecTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int SAMPLES = 20_000;

    private static void assertReadsLikeJackson(ObjectMapper json, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        JsonNode expected = json.readTree(bytes);
        JsonNode actual = new FlatJsonCodec(json).read(bytes);
        assertEquals(expected, actual, text);
        // equals ignores field order and int-vs-long is easy to miss: the written form and node types too
        assertEquals(json.writeValueAsString(expected), json.writeValueAsString(actual), text);
        if (expected != null && expected.isObject()) {
            expected.fields().forEachRemaining(f -> assertEquals(f.getValue().getClass(), actual.get(f.getKey()).getClass(),
                    text + " field " + f.getKey()));
        }
    }

    private static void assertWritesLikeJackson(ObjectMapper json, ObjectNode node) throws IOException {
        assertArrayEquals(json.writeValueAsBytes(node), new FlatJsonCodec(json).write(node), node.toString());
    }

    @Test
    void readsFlatRecordsIntoTheSameTreesAsJackson() throws IOException {
        for (String text : List.of(
                "{}", " { } ", "{\"a\":\"x\"}", "{\"a\":\"\",\"b\":1,\"c\":-7,\"d\":true,\"e\":false,\"f\":null}",
                "{ \"a\" : \"x\" ,\n\t\"b\" : 2147483647 , \"c\" : 2147483648, \"d\": -2147483648, \"e\": -2147483649 }\r\n",
                "{\"n\":999999999999999999,\"m\":-999999999999999999}", "{\"big\":1234567890123456789012}",
                "{\"a\":1,\"a\":\"second\",\"b\":0}", "{\"z\":1,\"a\":2,\"m\":3}", "{\"minusZero\":-0}",
                "{\"f\":1.5,\"g\":2}", "{\"e\":1e3}", "{\"E\":-2E-3}", "{\"nested\":{\"a\":1}}", "{\"list\":[1,2]}",
                "{\"esc\":\"a\\\"b\\\\c\\n\\u00e9\"}", "{\"utf8\":\"d\u00e9j\u00e0 \u20ac \uD83D\uDE00\"}",
"{\"del\":\"a\u007fb\"}", "\uFEFF{\"bom\":1}", "[1,2]", "\"text\"", "42", "null", "",
                "{\"a\":1}{\"b\":2}", "{\"a\":1} x", "{\"key with spaces\":\"value / with : punctuation, {}[]\"}")) {
            assertReadsLikeJackson(JSON, text);
        }
    }

    @Test
    void rejectsMalformedRecordsWithJacksonsErrors() {
        for (String text : List.of("{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":-}", "{\"a\":tru}",
                "{\"a\":truex}", "{\"a\":\"unterminated}", "{a:1}", "{\"a\":1 \"b\":2}", "{\"a\":nul}", "{\"ctl\":\"a\u0001b\"}", "{\"tab\":\"a\tb\"}")) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            Exception expected = assertThrows(IOException.class, () -> JSON.readTree(bytes), text);
            Exception actual = assertThrows(IOException.class, () -> new FlatJsonCodec(JSON).read(bytes), text);
            assertEquals(expected.getClass(), actual.getClass(), text);
            assertEquals(expected.getMessage(), actual.getMessage(), text);
        }
    }

    @Test
    void readsAndWritesRandomRecordsExactlyAsJacksonDoes() throws IOException {
        Random random = new Random(42);
        FlatJsonCodec codec = new FlatJsonCodec(JSON);
        for (int i = 0; i < SAMPLES; i++) {
            ObjectNode record = randomRecord(random);
            byte[] bytes = JSON.writeValueAsBytes(record);
            JsonNode read = codec.read(bytes);
            assertEquals(JSON.readTree(bytes), read, record.toString());
            assertEquals(JSON.writeValueAsString(JSON.readTree(bytes)), JSON.writeValueAsString(read));
            // one codec reused across records, as a transform slice does
            assertArrayEquals(bytes, codec.write(record), record.toString());
        }
    }

    @Test
    void oneCodecReadsRecordsWhoseFieldNamesChangeFromRecordToRecord() throws IOException {
        FlatJsonCodec codec = new FlatJsonCodec(JSON);
        for (String text : List.of("{\"ab\":1,\"c\":2}", "{\"abc\":1,\"c\":2}", "{\"ab\":1,\"c\":2}", "{\"a\":1,\"ab\":2}",
                "{\"ab\":1}", "{\"ab\\u0041\":1}", "{\"ab\":1,\"c\":2}", "{\"c\":1,\"ab\":2}", "{}", "{\"ab\":3,\"c\":4}")) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            JsonNode read = codec.read(bytes);
            assertEquals(JSON.readTree(bytes), read, text);
            assertEquals(JSON.writeValueAsString(JSON.readTree(bytes)), JSON.writeValueAsString(read), text);
        }
    }

    @Test
    void writesTreesItCannotWriteFastThroughJackson() throws IOException {
        ObjectNode node = JSON.createObjectNode();
        node.put("s", "plain").put("i", 1).put("l", 1L << 40).put("b", true).putNull("n");
        assertWritesLikeJackson(JSON, node);
        assertWritesLikeJackson(JSON, node.deepCopy().put("d", 1.25));
        assertWritesLikeJackson(JSON, node.deepCopy().put("esc", "quote \" backslash \\ newline \n"));
        assertWritesLikeJackson(JSON, node.deepCopy().put("u", "d\u00e9j\u00e0 \uD83D\uDE00"));
        assertWritesLikeJackson(JSON, node.deepCopy().put("big", new java.math.BigInteger("123456789012345678901234")));
        assertWritesLikeJackson(JSON, node.deepCopy().put("dec", new java.math.BigDecimal("1.50")));
        assertWritesLikeJackson(JSON, node.deepCopy().put("short", (short) 3));
        assertWritesLikeJackson(JSON, node.deepCopy().put("float", 0.5f));
        assertWritesLikeJackson(JSON, node.deepCopy().set("nested", JSON.createObjectNode().put("a", 1)));
        assertWritesLikeJackson(JSON, node.deepCopy().set("array", JSON.createArrayNode().add(1)));
        assertWritesLikeJackson(JSON, node.deepCopy().put("binary", new byte[]{1, 2, 3}));
        assertWritesLikeJackson(JSON, node.deepCopy().put("ke\"y", 1));
        assertWritesLikeJackson(JSON, JSON.createObjectNode());
        StringBuilder large = new StringBuilder();
        for (int i = 0; i < 5_000; i++) {
            large.append("long-text-");
        }
        assertWritesLikeJackson(JSON, node.deepCopy().put("large", large.toString()));
    }

    @Test
    void mapperSettingsThatChangeTreesOrBytesAreHonoured() throws IOException {
        String text = "{\"i\":1,\"s\":\"x\"}";
        assertReadsLikeJackson(new ObjectMapper().enable(DeserializationFeature.USE_LONG_FOR_INTS), text);
        assertReadsLikeJackson(new ObjectMapper().enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS), text);
        ObjectMapper strictDuplicates = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
        byte[] duplicate = "{\"a\":1,\"a\":2}".getBytes(StandardCharsets.UTF_8);
        assertThrows(IOException.class, () -> new FlatJsonCodec(strictDuplicates).read(duplicate));
        ObjectMapper indenting = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        assertWritesLikeJackson(indenting, (ObjectNode) JSON.readTree(text));
    }

    private static ObjectNode randomRecord(Random random) {
        ObjectNode record = JSON.createObjectNode();
        int fields = random.nextInt(12);
        for (int f = 0; f < fields; f++) {
            String name = random.nextInt(10) == 0 ? randomText(random) : "field" + random.nextInt(8);
            switch (random.nextInt(9)) {
                case 0, 1, 2 -> record.put(name, randomText(random));
                case 3 -> record.put(name, random.nextInt());
                case 4 -> record.put(name, random.nextLong() >> random.nextInt(64));
                case 5 -> record.put(name, random.nextBoolean());
                case 6 -> record.putNull(name);
                case 7 -> record.put(name, random.nextDouble() * 1e6);
                default -> record.set(name, JSON.createObjectNode().put("inner", randomText(random)));
            }
        }
        return record;
    }

    /** Mostly plain ASCII, sometimes a character that needs escaping or is not ASCII. */
    private static String randomText(Random random) {
        int length = random.nextInt(30);
        List<Character> chars = new ArrayList<>();
        for (int i = 0; i < length; i++) {
            int kind = random.nextInt(40);
            chars.add(switch (kind) {
                case 0 -> '"';
                case 1 -> '\\';
                case 2 -> (char) random.nextInt(0x20);
                case 3 -> (char) (0x80 + random.nextInt(0x780));
                case 4 -> '\u007f';
                default -> (char) (0x20 + random.nextInt(0x5f));
            });
        }
        StringBuilder text = new StringBuilder();
        chars.forEach(text::append);
        return text.toString();
    }
}
