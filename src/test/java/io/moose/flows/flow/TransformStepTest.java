package io.moose.flows.flow;

import io.moose.flows.api.Transform;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.example.ParseActivity;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.VersionRef;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TransformStepTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ModelVersion TARGET = ProjectDefinitionLoader.load(Path.of("conf/project.conf"))
            .version(VersionRef.parse("ParsedActivity/0.0")).orElseThrow();

    private static ConsumerRecord<byte[], byte[]> input(String value) {
        RecordHeaders headers = new RecordHeaders();
        headers.add("trace-id", "t1".getBytes(StandardCharsets.UTF_8));
        return new ConsumerRecord<>("in", 2, 41L, 1000L, TimestampType.CREATE_TIME, -1, -1,
                "k".getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8), headers, Optional.empty());
    }

    private TransformStep step(Transform transform) {
        return new TransformStep("F", transform, TARGET, "out", "dlq", JSON);
    }

    @Test
    void validOutputGoesToTheOutputTopicWithKeyHeadersAndTimestamp() {
        var outcome = step(new ParseActivity()).apply(input(
                "{\"eventId\":\"e\",\"timestamp\":\"2024-01-31T12:00:00Z\",\"userId\":\"u\",\"activity\":\"click:b@/p\"}"));
        assertFalse(outcome.deadLettered());
        ProducerRecord<byte[], byte[]> out = outcome.records().get(0);
        assertEquals("out", out.topic());
        assertEquals(1000L, out.timestamp());
        assertArrayEquals("k".getBytes(StandardCharsets.UTF_8), out.key());
        assertArrayEquals("t1".getBytes(StandardCharsets.UTF_8), out.headers().lastHeader("trace-id").value());
    }

    @Test
    void aThrowingTransformSendsTheOriginalBytesToTheDeadLetterTopicWithErrorHeaders() {
        String value = "{\"eventId\":\"e\",\"activity\":\"\"}";
        var outcome = step(new ParseActivity()).apply(input(value));
        assertTrue(outcome.deadLettered());
        ProducerRecord<byte[], byte[]> dead = outcome.records().get(0);
        assertEquals("dlq", dead.topic());
        assertArrayEquals(value.getBytes(StandardCharsets.UTF_8), dead.value());
        assertEquals("transform", header(dead, TransformStep.ERROR_STAGE));
        assertEquals(IllegalArgumentException.class.getName(), header(dead, TransformStep.ERROR_CLASS));
        assertEquals("in", header(dead, TransformStep.ERROR_TOPIC));
        assertEquals("2", header(dead, TransformStep.ERROR_PARTITION));
        assertEquals("41", header(dead, TransformStep.ERROR_OFFSET));
        assertEquals("t1", header(dead, "trace-id"));
        long failedAt = Long.parseLong(header(dead, TransformStep.ERROR_TIMESTAMP));
        assertTrue(Math.abs(System.currentTimeMillis() - failedAt) < 60_000, "dead-lettered now, not at the input's time: " + failedAt);
        assertEquals(null, dead.headers().lastHeader(TransformStep.ERROR_REPLAYS), "no replay failed it yet");
    }

    @Test
    void outputInvalidForTheTargetVersionIsADeadLetterToo() {
        Transform dropsFields = record -> List.of(record.objectNode().put("eventId", "e"));
        var outcome = step(dropsFields).apply(input("{\"eventId\":\"e\"}"));
        assertTrue(outcome.deadLettered());
        assertEquals("validate", header(outcome.records().get(0), TransformStep.ERROR_STAGE));
        assertTrue(header(outcome.records().get(0), TransformStep.ERROR_MESSAGE).contains("timestamp"));
    }

    @Test
    void unparseableInputIsADeadLetter() {
        var outcome = step(new ParseActivity()).apply(input("{nope"));
        assertTrue(outcome.deadLettered());
        assertEquals("parse", header(outcome.records().get(0), TransformStep.ERROR_STAGE));
    }

    private static String header(ProducerRecord<byte[], byte[]> r, String name) {
        return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}
