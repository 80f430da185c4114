package io.moose.flows.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;

/**
 * A consumer group's lag as the records a read_committed reader of the group would still get: per
 * partition, from the committed offset up to the last stable offset. Transaction markers and records
 * of aborted transactions take offsets too, and a reader that is caught up commits the offset after
 * its last record, below the marker that follows it: counted as end minus committed, an idle flow
 * showed a lag of one per partition forever.
 *
 * <p>Where the gap is small ({@value #COUNT_BELOW} offsets or fewer) and the same as at the previous
 * probe (the group and the topic are at rest), its records are counted with a read_committed
 * consumer, once per (committed, end) pair: an idle flow pays one read, then none, and shows 0 from
 * its second probe on. A gap that moves, or a larger one, is reported as it is: while records flow,
 * the markers among them are a rounding error and not worth a consumer per probe.
 */
public final class ReadableLag {

    /** Gaps up to this many offsets are counted record by record. */
    static final long COUNT_BELOW = 1_000;
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(5);
    /**
     * Counting reads block (up to {@link #READ_TIMEOUT}), so they run on threads of their own, as many
     * as gaps are being counted at once and idle ones end: with one thread shared by the node, every
     * hop's probe waited behind a count of another (a topic being deleted held it 5 s a probe) and a
     * caught-up table sync still showed no lag 10 s later.
     */
    private static final Executor READERS = Executors.newCachedThreadPool(r -> {
        Thread thread = new Thread(r, "readable-lag");
        thread.setDaemon(true);
        return thread;
    });

    private record Gap(long from, long to) {
    }

    private final Map<String, Object> consumerProperties;
    private final Map<TopicPartition, Map.Entry<Gap, Long>> counted = new ConcurrentHashMap<>();
    private final Map<TopicPartition, Gap> previous = new ConcurrentHashMap<>();

    public ReadableLag(KafkaSettings kafka) {
        Map<String, Object> props = new HashMap<>(kafka.commonClientProperties());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        this.consumerProperties = props;
    }

    /** The group's readable lag over all of {@code topics}. */
    public CompletionStage<Long> of(Admin admin, String group, Collection<String> topics) {
        CompletionStage<Long> total = CompletableFuture.completedFuture(0L);
        for (String topic : topics) {
            total = total.thenCombine(of(admin, group, topic), Long::sum);
        }
        return total;
    }

    /** The group's readable lag on {@code topic} (a partition without a committed offset counts from 0). */
    public CompletionStage<Long> of(Admin admin, String group, String topic) {
        return TopicOffsets.partitions(admin, topic).thenCompose(partitions ->
                TopicOffsets.endOffsets(admin, partitions).thenCombine(TopicOffsets.committed(admin, group), (ends, committed) -> {
                    Map<TopicPartition, Gap> gaps = new HashMap<>();
                    ends.forEach((p, end) -> gaps.put(p, new Gap(committed.getOrDefault(p, 0L), end)));
                    return gaps;
                })).thenCompose(this::records);
    }

    /** Sizes of moving or large gaps, counts known before, and (on a reader thread) the gaps left to count. */
    private CompletionStage<Long> records(Map<TopicPartition, Gap> gaps) {
        long lag = 0;
        Map<TopicPartition, Gap> toCount = new HashMap<>();
        for (Map.Entry<TopicPartition, Gap> e : gaps.entrySet()) {
            Gap gap = e.getValue();
            long size = Math.max(0, gap.to() - gap.from());
            Map.Entry<Gap, Long> known = counted.get(e.getKey());
            boolean atRest = gap.equals(previous.put(e.getKey(), gap));
            if (size == 0 || size > COUNT_BELOW || !atRest) {
                lag += size;
            } else if (known != null && known.getKey().equals(gap)) {
                lag += known.getValue();
            } else {
                toCount.put(e.getKey(), gap);
            }
        }
        if (toCount.isEmpty()) {
            return CompletableFuture.completedFuture(lag);
        }
        long sized = lag;
        return CompletableFuture.supplyAsync(() -> sized + count(toCount), READERS);
    }

    /** Reads each gap at read_committed and counts its records; a gap not read in time counts whole. */
    private long count(Map<TopicPartition, Gap> gaps) {
        Map<TopicPartition, Long> records = new HashMap<>();
        gaps.keySet().forEach(p -> records.put(p, 0L));
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties)) {
            consumer.assign(gaps.keySet());
            gaps.forEach((p, gap) -> consumer.seek(p, gap.from()));
            long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
            while (gaps.entrySet().stream().anyMatch(e -> consumer.position(e.getKey(), READ_TIMEOUT) < e.getValue().to())) {
                if (System.nanoTime() > deadline) {
                    return gaps.values().stream().mapToLong(g -> g.to() - g.from()).sum();
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    TopicPartition p = new TopicPartition(r.topic(), r.partition());
                    if (r.offset() < gaps.get(p).to()) {
                        records.merge(p, 1L, Long::sum);
                    }
                }
            }
        } catch (KafkaException e) {
            return gaps.values().stream().mapToLong(g -> g.to() - g.from()).sum();
        }
        gaps.forEach((p, gap) -> counted.put(p, Map.entry(gap, records.get(p))));
        return records.values().stream().mapToLong(Long::longValue).sum();
    }
}
