package io.moose.flows.dlq;

import io.moose.flows.kafka.KafkaClients;
import akka.kafka.ConsumerSettings;
import akka.kafka.ProducerSettings;
import io.micrometer.core.instrument.Counter;
import io.moose.flows.flow.TransformStep;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * One run of a flow's DLQ replay: every dead letter up to the DLQ's end when the replay was asked for
 * goes through the flow's current transform again ({@link TransformStep}, the same parse, transform and
 * validate as the flow's transform hop); its records go to the flow's output topic, or, when it fails
 * again, it goes back to the DLQ with the new error.
 *
 * <p>Exactly once: the loop is the transform hop's consume-transform-produce in Kafka transactions,
 * with a transactional id and consumer group of its own per flow ({@code moose-flows.<flow>.dlq-replay}).
 * The replay's position in each DLQ partition is the group's committed offset, committed in the same
 * transaction as what the replay wrote, and the replay itself (id, end offsets, since, counts) is that
 * offset's metadata ({@link ReplayCheckpoint}), so nothing about it lives outside Kafka. A run killed
 * mid-way leaves an open transaction that the next run's {@code initTransactions} aborts; that run
 * finds the unfinished replay in the checkpoints and carries it on from the last commit to the same
 * ends. A zombie run (a node cut off, its entity started elsewhere) is fenced by the same id.
 */
public final class DlqReplay {

    private static final Logger log = LoggerFactory.getLogger(DlqReplay.class);
    private static final Duration POLL = Duration.ofMillis(200);

    private final String flowId;
    private final String deadLetterTopic;
    private final TransformStep step;
    private final ConsumerSettings<byte[], byte[]> consumerSettings;
    private final ProducerSettings<byte[], byte[]> producerSettings;
    private final DlqSettings settings;
    private final Optional<Instant> since;
    private final Counter replayedCounter;
    private final Counter failedCounter;

    private final Thread thread;
    /** The replay this run carries out, once it knows whether it resumes one; fails when it cannot start. */
    private final CompletableFuture<ReplayStatus> started = new CompletableFuture<>();
    /** The committed outcome when the run ends (finished, or stopped part-way: interrupted). */
    private final CompletableFuture<ReplayStatus> finished = new CompletableFuture<>();
    private volatile ReplayStatus committedStatus;
    private volatile boolean stopRequested;
    private volatile boolean abortRequested;
    private Consumer<byte[], byte[]> consumer;
    private Producer<byte[], byte[]> producer;

    // The loop's state (its thread only).
    private String id;
    private boolean resumed;
    private final Map<TopicPartition, ReplayCheckpoint> checkpoints = new HashMap<>();
    private final Map<TopicPartition, Long> positions = new HashMap<>();
    /** Counts of the open transaction per partition: written, failed, skipped. */
    private final Map<TopicPartition, long[]> pending = new HashMap<>();
    private final Set<TopicPartition> moved = new HashSet<>();
    private boolean inTransaction;
    private long transactionStartedNanos;
    private long handled;
    private long startedNanos;

    /**
     * @param consumerSettings with the replay's group id; read_committed and no auto-commit are enforced here
     * @param producerSettings with the replay's transactional id
     * @param since            dead letters written before it are passed over (only for a new replay; a
     *                         resumed one keeps its own)
     */
    public DlqReplay(String flowId, String deadLetterTopic, TransformStep step, ConsumerSettings<byte[], byte[]> consumerSettings,
                     ProducerSettings<byte[], byte[]> producerSettings, DlqSettings settings, Optional<Instant> since,
                     Counter replayedCounter, Counter failedCounter) {
        this.flowId = flowId;
        this.deadLetterTopic = deadLetterTopic;
        this.step = step;
        this.consumerSettings = consumerSettings
                .withProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")
                .withProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false")
                .withProperty(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest")
                .withProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, Integer.toString(settings.maxPollRecords()));
        this.producerSettings = producerSettings.withProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        this.settings = settings;
        this.since = since;
        this.replayedCounter = replayedCounter;
        this.failedCounter = failedCounter;
        this.thread = new Thread(this::loop, "moose-dlq-replay-" + flowId);
        thread.setDaemon(true);
    }

    public DlqReplay start() {
        thread.start();
        return this;
    }

    /** Completes once the run knows which replay it carries out (new or resumed), with its status then. */
    public CompletableFuture<ReplayStatus> started() {
        return started;
    }

    public CompletableFuture<ReplayStatus> finished() {
        return finished;
    }

    /** What is committed so far; running while the run lasts. */
    public ReplayStatus status() {
        ReplayStatus s = committedStatus;
        return s == null ? new ReplayStatus(flowId, ReplayStatus.RUNNING, "", false, -1, 0, 0, 0, 0, "") : s;
    }

    /** Stops after the record under way: the open transaction commits, the replay stays interrupted. */
    public void stop() {
        stopRequested = true;
    }

    /** Ends the run without committing, as a crash would (its entity is gone). */
    public void abort() {
        if (!finished.isDone()) {
            abortRequested = true;
            Consumer<byte[], byte[]> c = consumer;
            if (c != null) {
                c.wakeup();
            }
        }
    }

    private void loop() {
        try {
            producer = producerSettings.createKafkaProducer();
            // Fences an earlier run of this flow's replay and aborts the transaction it left open.
            producer.initTransactions();
            consumer = consumerSettings.createKafkaConsumer();
            plan();
            started.complete(summary(ReplayStatus.RUNNING));
            replay();
            close(true);
            ReplayStatus outcome = summary(remaining() == 0 ? ReplayStatus.FINISHED : ReplayStatus.INTERRUPTED);
            committedStatus = outcome;
            finished.complete(outcome);
        } catch (WakeupException e) {
            close(true);
            fail(e);
        } catch (RuntimeException | Error e) {
            close(!(e instanceof ProducerFencedException || e instanceof InvalidProducerEpochException));
            fail(e);
        }
    }

    private void fail(Throwable e) {
        started.completeExceptionally(e);
        ReplayStatus s = committedStatus;
        committedStatus = (s == null ? ReplayStatus.none(flowId) : s).withState(ReplayStatus.FAILED, e.toString());
        finished.completeExceptionally(e);
    }

    /** Resumes the unfinished replay the checkpoints record, or begins a new one to the DLQ's ends now. */
    private void plan() {
        List<TopicPartition> partitions = consumer.partitionsFor(deadLetterTopic).stream()
                .map(p -> new TopicPartition(deadLetterTopic, p.partition())).toList();
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(new HashSet<>(partitions));
        ReplayStatus last = ReplayStatus.fromCommitted(flowId, committed);
        if (ReplayStatus.INTERRUPTED.equals(last.state())) {
            id = last.id();
            resumed = true;
            for (TopicPartition p : partitions) {
                OffsetAndMetadata o = committed.get(p);
                Optional<ReplayCheckpoint> c = ReplayStatus.checkpoint(o).filter(cp -> cp.id().equals(id));
                if (c.isPresent()) {
                    checkpoints.put(p, c.get());
                    positions.put(p, o.offset());
                }
            }
            log.info("{}: resuming the interrupted DLQ replay {} ({} DLQ offsets to go)", flowId, id, remaining());
        } else {
            id = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString().replace(":", "").replace("-", "")
                    + "-" + UUID.randomUUID().toString().substring(0, 8);
            Map<TopicPartition, Long> begins = consumer.beginningOffsets(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            long sinceMillis = since.map(Instant::toEpochMilli).orElse(-1L);
            for (TopicPartition p : partitions) {
                OffsetAndMetadata o = committed.get(p);
                long position = Math.max(begins.get(p), o == null ? 0 : o.offset());
                positions.put(p, position);
                checkpoints.put(p, new ReplayCheckpoint(id, Math.max(position, ends.get(p)), sinceMillis, 0, 0, 0));
                moved.add(p);
            }
            // The replay exists once this commits: a run that dies after it resumes this replay, to these ends.
            begin();
            commit();
            log.info("{}: DLQ replay {} started{} ({} DLQ offsets to go)", flowId, id,
                    since.map(s -> " for dead letters since " + s).orElse(""), remaining());
        }
        committedStatus = summary(ReplayStatus.RUNNING);
    }

    private void replay() {
        List<TopicPartition> active = new ArrayList<>();
        positions.forEach((p, position) -> {
            if (position < checkpoints.get(p).end()) {
                active.add(p);
            }
        });
        consumer.assign(active);
        active.forEach(p -> consumer.seek(p, positions.get(p)));
        startedNanos = System.nanoTime();
        while (!active.isEmpty() && !stopRequested && !abortRequested) {
            for (ConsumerRecord<byte[], byte[]> record : consumer.poll(POLL)) {
                TopicPartition p = new TopicPartition(record.topic(), record.partition());
                long end = checkpoints.get(p).end();
                if (record.offset() >= end || positions.get(p) >= end || stopRequested || abortRequested) {
                    continue;
                }
                handle(p, record);
                positions.put(p, record.offset() + 1);
                moved.add(p);
                throttle();
                commitIfDue();
            }
            // Reached the end (perhaps through transaction markers only): nothing more of this partition belongs to the replay.
            for (TopicPartition p : List.copyOf(active)) {
                long end = checkpoints.get(p).end();
                if (positions.get(p) >= end || consumer.position(p) >= end) {
                    if (positions.get(p) < end) {
                        positions.put(p, end);
                        moved.add(p);
                    }
                    active.remove(p);
                    consumer.pause(List.of(p));
                }
            }
            commitIfDue();
        }
        if (!abortRequested && !moved.isEmpty()) {
            begin();
            commit();
        }
    }

    /** One dead letter through the current transform: its records to the output topic, or back to the DLQ. */
    private void handle(TopicPartition p, ConsumerRecord<byte[], byte[]> record) {
        begin();
        long[] counts = pending.computeIfAbsent(p, k -> new long[3]);
        long sinceMillis = checkpoints.get(p).sinceMillis();
        if (sinceMillis >= 0 && DeadLetter.deadLetteredMillis(record) < sinceMillis) {
            counts[2]++;
            return;
        }
        TransformStep.Outcome outcome = step.apply(asInput(record));
        if (outcome.deadLettered()) {
            ProducerRecord<byte[], byte[]> again = outcome.records().get(0);
            long replays = DeadLetter.number(record, TransformStep.ERROR_REPLAYS, 0) + 1;
            again.headers().remove(TransformStep.ERROR_REPLAYS);
            again.headers().add(TransformStep.ERROR_REPLAYS, Long.toString(replays).getBytes(StandardCharsets.UTF_8));
            producer.send(again);
            counts[1]++;
        } else {
            outcome.records().forEach(producer::send);
            counts[0]++;
        }
    }

    /**
     * The record as the transform hop read it from the flow input topic: the coordinates the error
     * headers kept, the original key, value, timestamp, and headers without the error headers.
     */
    static ConsumerRecord<byte[], byte[]> asInput(ConsumerRecord<byte[], byte[]> deadLetter) {
        Headers headers = new RecordHeaders();
        for (Header h : deadLetter.headers()) {
            if (!h.key().startsWith(TransformStep.HEADER_PREFIX)) {
                headers.add(h);
            }
        }
        String topic = DeadLetter.text(deadLetter, TransformStep.ERROR_TOPIC, deadLetter.topic());
        int partition = (int) DeadLetter.number(deadLetter, TransformStep.ERROR_PARTITION, deadLetter.partition());
        long offset = DeadLetter.number(deadLetter, TransformStep.ERROR_OFFSET, deadLetter.offset());
        return new ConsumerRecord<>(topic, partition, offset, deadLetter.timestamp(), deadLetter.timestampType(),
                deadLetter.serializedKeySize(), deadLetter.serializedValueSize(), deadLetter.key(), deadLetter.value(),
                headers, Optional.empty());
    }

    /** Keeps the replay at or below max-records-per-second (0: no limit), so it does not crowd out live traffic. */
    private void throttle() {
        handled++;
        if (settings.maxRecordsPerSecond() <= 0) {
            return;
        }
        long dueNanos = startedNanos + (long) (handled * 1e9 / settings.maxRecordsPerSecond());
        while (!stopRequested && !abortRequested) {
            long wait = dueNanos - System.nanoTime();
            if (wait <= 0) {
                return;
            }
            commitIfDue();
            try {
                Thread.sleep(Math.max(1, Math.min(wait / 1_000_000, 50)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abortRequested = true;
            }
        }
    }

    private void begin() {
        if (!inTransaction) {
            producer.beginTransaction();
            inTransaction = true;
            transactionStartedNanos = System.nanoTime();
        }
    }

    private void commitIfDue() {
        if (inTransaction && System.nanoTime() - transactionStartedNanos >= settings.commitInterval().toNanos()) {
            commit();
        }
    }

    /** The moved positions with their checkpoints into the transaction, then commit: records, position and counts together. */
    private void commit() {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        Map<TopicPartition, ReplayCheckpoint> next = new HashMap<>();
        long written = 0;
        long failed = 0;
        for (TopicPartition p : moved) {
            long[] c = pending.getOrDefault(p, new long[3]);
            ReplayCheckpoint checkpoint = checkpoints.get(p).plus(c[0], c[1], c[2]);
            next.put(p, checkpoint);
            offsets.put(p, new OffsetAndMetadata(positions.get(p), checkpoint.format()));
            written += c[0];
            failed += c[1];
        }
        if (!offsets.isEmpty()) {
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
        }
        producer.commitTransaction();
        inTransaction = false;
        checkpoints.putAll(next);
        pending.clear();
        moved.clear();
        replayedCounter.increment(written);
        failedCounter.increment(failed);
        committedStatus = summary(ReplayStatus.RUNNING);
    }

    private long remaining() {
        long remaining = 0;
        for (Map.Entry<TopicPartition, ReplayCheckpoint> e : checkpoints.entrySet()) {
            remaining += Math.max(0, e.getValue().end() - positions.getOrDefault(e.getKey(), e.getValue().end()));
        }
        return remaining;
    }

    /** The committed checkpoints summed up. */
    private ReplayStatus summary(String state) {
        long written = 0;
        long failed = 0;
        long skipped = 0;
        long sinceMillis = -1;
        for (ReplayCheckpoint c : checkpoints.values()) {
            written += c.written();
            failed += c.failed();
            skipped += c.skipped();
            sinceMillis = c.sinceMillis();
        }
        return new ReplayStatus(flowId, state, id, resumed, sinceMillis, written, failed, skipped, remaining(), "");
    }

    private void close(boolean abortOpenTransaction) {
        KafkaClients.closeRun(flowId, producer, inTransaction && abortOpenTransaction, consumer);
        inTransaction = false;
    }
}
