package io.moose.flows.dlq;

import io.moose.flows.kafka.KafkaSettings;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * Reads a flow's dead-letter topic for {@code GET /flows/{id}/dlq}: the last dead letters with their
 * error and source coordinates, how many there are, how many no replay has passed yet, and the last
 * replay as its committed checkpoints record it. Blocking: call it off the actors' threads.
 */
public final class DeadLetters {

    /** What the listing answers. {@code deadLetters} are the newest {@code limit}, oldest first. */
    public record Listing(String flowId, String topic, long total, long notReplayed, List<DeadLetter> deadLetters,
                          ReplayStatus lastReplay) {
    }

    private DeadLetters() {
    }

    /**
     * The partition's last {@code limit} dead letters. Transaction markers take offsets too, so the
     * last {@code limit} offsets may hold fewer: the window doubles until it holds enough or reaches the beginning.
     */
    private static List<DeadLetter> newest(KafkaConsumer<byte[], byte[]> consumer, TopicPartition p, long begin, long end,
                                           int limit, long replayedBelow, DlqSettings settings, long deadline) {
        List<DeadLetter> letters = new ArrayList<>();
        long window = limit;
        while (end > begin) {
            long from = Math.max(begin, end - window);
            letters.clear();
            consumer.assign(List.of(p));
            consumer.seek(p, from);
            while (consumer.position(p) < end) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("reading " + p + " took longer than moose-flows.dlq.read-timeout");
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.offset() < end) {
                        letters.add(DeadLetter.of(r, r.offset() < replayedBelow, settings.valuePreviewChars()));
                    }
                }
            }
            if (letters.size() >= limit || from == begin) {
                break;
            }
            window *= 2;
        }
        return letters.subList(Math.max(0, letters.size() - limit), letters.size());
    }

    public static Listing list(KafkaSettings kafka, String flowId, String topic, String replayGroup, int limit,
                               DlqSettings settings) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> committed;
        try (Admin admin = Admin.create(kafka.commonClientProperties())) {
            // Not require-stable: an open (or a killed node's unfinished) replay transaction must not hold up the answer.
            committed = new HashMap<>(admin.listConsumerGroupOffsets(replayGroup).partitionsToOffsetAndMetadata()
                    .get(settings.readTimeout().toMillis(), TimeUnit.MILLISECONDS));
        }
        committed.values().removeIf(java.util.Objects::isNull);
        Properties props = new Properties();
        props.putAll(kafka.commonClientProperties());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(Math.max(limit, 100)));
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            Duration timeout = settings.readTimeout();
            List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            Map<TopicPartition, Long> begins = consumer.beginningOffsets(partitions, timeout);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, timeout);
            long total = 0;
            long notReplayed = 0;
            Map<TopicPartition, Long> replayedBelow = new HashMap<>();
            for (TopicPartition p : partitions) {
                long begin = begins.get(p);
                long end = ends.get(p);
                long position = Math.max(begin, committed.containsKey(p) ? committed.get(p).offset() : begin);
                replayedBelow.put(p, position);
                total += end - begin;
                notReplayed += Math.max(0, end - position);
            }
            List<DeadLetter> letters = new ArrayList<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            for (TopicPartition p : partitions) {
                letters.addAll(newest(consumer, p, begins.get(p), ends.get(p), limit, replayedBelow.get(p), settings, deadline));
            }
            letters.sort(Comparator.comparing(DeadLetter::deadLetteredAt).thenComparingInt(DeadLetter::partition)
                    .thenComparingLong(DeadLetter::offset));
            List<DeadLetter> newest = letters.subList(Math.max(0, letters.size() - limit), letters.size());
            return new Listing(flowId, topic, total, notReplayed, List.copyOf(newest), ReplayStatus.fromCommitted(flowId, committed));
        }
    }
}
