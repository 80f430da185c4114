package io.moose.flows.sync;

import akka.Done;
import akka.NotUsed;
import akka.kafka.ConsumerSettings;
import akka.kafka.javadsl.Consumer;
import akka.stream.javadsl.Source;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A table sink's input as whole batches: a Kafka consumer assigned to every partition from given
 * offsets, polled on demand on the stream's blocking-IO dispatcher, its records gathered into
 * batches of at most {@code batchSize} that wait at most {@code linger} after their first record.
 *
 * <p>A batch goes out before its linger once the consumer has caught up (a poll returned fewer
 * than {@code max.poll.records}), at least {@code minInterval} after the previous batch, and no
 * earlier batch is still unfinished downstream (counted in
 * {@code unfinished}: emitted here, released by the sink after its INSERT). An idle sink so inserts
 * a record a poll after it arrives; a busy one gathers while its INSERT runs, so batches grow with
 * the load (group commit) instead of becoming one INSERT per poll.
 *
 * <p>The sink used Alpakka's plain source, one stream element per record, grouped again
 * downstream: in ops/bench a third of the sink's CPU went to moving single records through the
 * stream. Here one element is one INSERT's worth of records.
 */
final class PolledBatches implements Consumer.Control {

    private final java.util.function.Supplier<org.apache.kafka.clients.consumer.Consumer<byte[], byte[]>> consumers;
    private final Map<TopicPartition, Long> start;
    private final int batchSize;
    private final long lingerNanos;
    private final Duration pollTimeout;
    private final int maxPollRecords;
    private final AtomicInteger unfinished;
    private final long minIntervalNanos;
    private final CompletableFuture<Done> closed = new CompletableFuture<>();
    private volatile boolean stopRequested;
    private volatile boolean opened;

    /** @param start first offset to read per partition; records below it are dropped even if a reset serves them */
    /** How often a caught-up reader with records gathered looks whether the sink is free again. */
    private static final Duration BUSY_POLL = Duration.ofMillis(10);

    PolledBatches(ConsumerSettings<byte[], byte[]> settings, Map<TopicPartition, Long> start, int batchSize, Duration linger,
                  Duration pollTimeout, int maxPollRecords, AtomicInteger unfinished, Duration minInterval) {
        this(settings::createKafkaConsumer, start, batchSize, linger, pollTimeout, maxPollRecords, unfinished, minInterval);
    }

    /** @param consumers gives the consumer when the stream starts (made then, or made beforehand: {@link PreparedConsumer}); the stream closes it */
    PolledBatches(java.util.function.Supplier<org.apache.kafka.clients.consumer.Consumer<byte[], byte[]>> consumers,
                  Map<TopicPartition, Long> start, int batchSize, Duration linger,
                  Duration pollTimeout, int maxPollRecords, AtomicInteger unfinished, Duration minInterval) {
        this.minIntervalNanos = minInterval.toNanos();
        this.maxPollRecords = maxPollRecords;
        this.unfinished = unfinished;
        this.consumers = consumers;
        this.start = Map.copyOf(start);
        this.batchSize = batchSize;
        this.lingerNanos = linger.toNanos();
        this.pollTimeout = pollTimeout;
    }

    /** One materialization per instance: the consumer is created when the stream starts and closed when it ends. */
    Source<List<ConsumerRecord<byte[], byte[]>>, NotUsed> source() {
        return Source.unfoldResource(this::open, Reader::next, Reader::close)
                .filter(batch -> !batch.isEmpty())
                // The polls block: keep them off the stages that encode and insert.
                .async();
    }

    private Reader open() {
        opened = true;
        org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer = consumers.get();
        consumer.assign(start.keySet());
        start.forEach(consumer::seek);
        return new Reader(consumer);
    }

    /** The consumer and the batch it is filling; used by one stream stage, one call at a time. */
    private final class Reader {
        private final org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer;
        private final List<ConsumerRecord<byte[], byte[]>> pending = new ArrayList<>();
        private long firstPendingNanos;
        /** The last poll returned less than a full poll: nothing more is waiting in Kafka right now. */
        private boolean caughtUp;
        private long lastTakenNanos = System.nanoTime() - minIntervalNanos;

        Reader(org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer) {
            this.consumer = consumer;
        }

        /**
         * The next batch: full, lingered long enough, or what is left once a stop was asked for (empty
         * ends the stream); an empty list when one poll brought neither. Returning after every poll
         * matters: while the stage is inside this call it cannot see its stream being cancelled (a
         * failed run, an abort), and an idle topic used to keep a cancelled run polling here forever
         * with its consumer open.
         */
        Optional<List<ConsumerRecord<byte[], byte[]>>> next() {
            if (stopRequested) {
                return pending.isEmpty() ? Optional.empty() : Optional.of(take(Math.min(batchSize, pending.size())));
            }
            Optional<List<ConsumerRecord<byte[], byte[]>>> ready = readyBatch();
            if (ready.isPresent()) {
                return ready;
            }
            long waited = System.nanoTime() - firstPendingNanos;
            long waitNanos = pending.isEmpty() ? pollTimeout.toNanos() : Math.min(pollTimeout.toNanos(), lingerNanos - waited);
            if (!pending.isEmpty() && caughtUp) {
                // Only an unfinished INSERT holds this batch back: look again soon.
                waitNanos = Math.min(waitNanos, BUSY_POLL.toNanos());
            }
            ConsumerRecords<byte[], byte[]> polled = consumer.poll(Duration.ofNanos(Math.max(0, waitNanos)));
            caughtUp = polled.count() < maxPollRecords;
            for (TopicPartition partition : polled.partitions()) {
                // The seek already starts above the mark; this guards against a reset to an earlier offset.
                long first = start.getOrDefault(partition, 0L);
                for (ConsumerRecord<byte[], byte[]> r : polled.records(partition)) {
                    if (r.offset() >= first) {
                        if (pending.isEmpty()) {
                            firstPendingNanos = System.nanoTime();
                        }
                        pending.add(r);
                    }
                }
            }
            return Optional.of(readyBatch().orElse(List.of()));
        }

        private Optional<List<ConsumerRecord<byte[], byte[]>>> readyBatch() {
            if (pending.size() >= batchSize) {
                return Optional.of(take(batchSize));
            }
            if (!pending.isEmpty() && (System.nanoTime() - firstPendingNanos >= lingerNanos
                    || caughtUp && unfinished.get() == 0 && System.nanoTime() - lastTakenNanos >= minIntervalNanos)) {
                return Optional.of(take(pending.size()));
            }
            return Optional.empty();
        }

        private List<ConsumerRecord<byte[], byte[]>> take(int count) {
            List<ConsumerRecord<byte[], byte[]>> head = pending.subList(0, count);
            List<ConsumerRecord<byte[], byte[]>> batch = new ArrayList<>(head);
            head.clear();
            firstPendingNanos = System.nanoTime();
            lastTakenNanos = firstPendingNanos;
            unfinished.incrementAndGet();
            return batch;
        }

        void close() {
            try {
                consumer.close();
            } finally {
                closed.complete(Done.getInstance());
            }
        }
    }

    /** Stops polling: what is gathered still goes out as a last batch, then the source completes. */
    @Override
    public CompletionStage<Done> stop() {
        stopRequested = true;
        return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public CompletionStage<Done> shutdown() {
        stopRequested = true;
        if (!opened) {
            // Never materialized (or not yet): there is no consumer to wait for.
            closed.complete(Done.getInstance());
        }
        return closed;
    }

    @Override
    public <T> CompletionStage<T> drainAndShutdown(CompletionStage<T> streamCompletion, Executor ec) {
        stopRequested = true;
        return streamCompletion;
    }

    @Override
    public CompletionStage<Done> isShutdown() {
        return closed;
    }

    /** The consumer belongs to the stream stage that polls it (it is not thread-safe); its metrics go through JMX. */
    @Override
    public CompletionStage<Map<MetricName, Metric>> getMetrics() {
        return CompletableFuture.completedFuture(Map.of());
    }
}
