package io.moose.flows.dlq;

import io.moose.flows.flow.TransformStep;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class ReplayCheckpointTest {

    @Test
    void aCheckpointReadsBackAsWrittenAndOtherMetadataIsNone() {
        ReplayCheckpoint c = new ReplayCheckpoint("20261202T1015Z-ab12", 412, 1_700_000_000_000L, 300, 12, 5);
        assertEquals(Optional.of(c), ReplayCheckpoint.parse(c.format()));
        assertEquals(Optional.empty(), ReplayCheckpoint.parse(""));
        assertEquals(Optional.empty(), ReplayCheckpoint.parse(null));
        assertEquals(Optional.empty(), ReplayCheckpoint.parse("moose-replay/1 id=x end=notanumber"));
    }

    @Test
    void theLastReplayIsInterruptedWhileAPartitionIsShortOfItsEndAndSumsItsPartitions() {
        TopicPartition p0 = new TopicPartition("f_dlq", 0);
        TopicPartition p1 = new TopicPartition("f_dlq", 1);
        ReplayCheckpoint a = new ReplayCheckpoint("r1", 100, -1, 40, 2, 0);
        ReplayCheckpoint b = new ReplayCheckpoint("r1", 50, -1, 48, 2, 0);
        ReplayStatus interrupted = ReplayStatus.fromCommitted("f", Map.of(
                p0, new OffsetAndMetadata(42, a.format()), p1, new OffsetAndMetadata(50, b.format())));
        assertEquals(new ReplayStatus("f", ReplayStatus.INTERRUPTED, "r1", false, -1, 88, 4, 0, 58, ""), interrupted);
        ReplayStatus finished = ReplayStatus.fromCommitted("f", Map.of(
                p0, new OffsetAndMetadata(100, a.format()), p1, new OffsetAndMetadata(50, b.format())));
        assertEquals(ReplayStatus.FINISHED, finished.state());
        assertEquals(ReplayStatus.NONE, ReplayStatus.fromCommitted("f", Map.of(p0, new OffsetAndMetadata(7))).state());
    }

    @Test
    void aDeadLetterReplaysAsTheInputRecordItWasWithoutItsErrorHeaders() {
        RecordHeaders headers = new RecordHeaders();
        headers.add("trace", bytes("t-1"));
        headers.add(TransformStep.ERROR_TOPIC, bytes("f_input"));
        headers.add(TransformStep.ERROR_PARTITION, bytes("2"));
        headers.add(TransformStep.ERROR_OFFSET, bytes("9120"));
        headers.add(TransformStep.ERROR_MESSAGE, bytes("boom"));
        ConsumerRecord<byte[], byte[]> dead = new ConsumerRecord<>("f_dlq", 0, 412, 1234L, TimestampType.CREATE_TIME, 1, 2,
                bytes("k"), bytes("{}"), headers, Optional.empty());
        ConsumerRecord<byte[], byte[]> input = DlqReplay.asInput(dead);
        assertEquals("f_input", input.topic());
        assertEquals(2, input.partition());
        assertEquals(9120, input.offset());
        assertEquals(1234L, input.timestamp());
        assertArrayEquals(bytes("{}"), input.value());
        assertArrayEquals(bytes("t-1"), input.headers().lastHeader("trace").value());
        assertNull(input.headers().lastHeader(TransformStep.ERROR_MESSAGE));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
