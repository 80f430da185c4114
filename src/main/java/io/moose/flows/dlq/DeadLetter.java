package io.moose.flows.dlq;

import io.moose.flows.flow.TransformStep;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * One record of a flow's dead-letter topic as the listing shows it: where it sits in the DLQ, when
 * and why it failed (TransformStep's error headers), where it came from (the flow input topic's
 * coordinates), and the start of its value.
 *
 * @param replays  how many replays it has failed (0: it failed only in the flow itself)
 * @param replayed whether a replay has passed it (replayed then, or passed over by {@code --since})
 */
public record DeadLetter(int partition, long offset, Instant deadLetteredAt, String stage, String errorClass,
                         String errorMessage, String sourceTopic, int sourcePartition, long sourceOffset, int replays,
                         boolean replayed, String key, String value, boolean valueTruncated) {

    static DeadLetter of(ConsumerRecord<byte[], byte[]> record, boolean replayed, int valueChars) {
        String value = record.value() == null ? "" : new String(record.value(), StandardCharsets.UTF_8);
        boolean truncated = value.length() > valueChars;
        return new DeadLetter(record.partition(), record.offset(), Instant.ofEpochMilli(deadLetteredMillis(record)),
                text(record, TransformStep.ERROR_STAGE, ""), text(record, TransformStep.ERROR_CLASS, ""),
                text(record, TransformStep.ERROR_MESSAGE, ""), text(record, TransformStep.ERROR_TOPIC, ""),
                (int) number(record, TransformStep.ERROR_PARTITION, -1), number(record, TransformStep.ERROR_OFFSET, -1),
                (int) number(record, TransformStep.ERROR_REPLAYS, 0), replayed,
                record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8),
                truncated ? value.substring(0, valueChars) : value, truncated);
    }

    /** When it was dead-lettered; the record's own timestamp (the input's) for dead letters written before that header existed. */
    static long deadLetteredMillis(ConsumerRecord<byte[], byte[]> record) {
        return number(record, TransformStep.ERROR_TIMESTAMP, record.timestamp());
    }

    static String text(ConsumerRecord<byte[], byte[]> record, String header, String otherwise) {
        Header h = record.headers().lastHeader(header);
        return h == null || h.value() == null ? otherwise : new String(h.value(), StandardCharsets.UTF_8);
    }

    static long number(ConsumerRecord<byte[], byte[]> record, String header, long otherwise) {
        try {
            String text = text(record, header, null);
            return text == null ? otherwise : Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            return otherwise;
        }
    }
}
