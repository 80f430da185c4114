package io.moose.flows.flow;

import akka.Done;
import akka.NotUsed;
import akka.kafka.ConsumerSettings;
import akka.kafka.ProducerSettings;
import akka.kafka.javadsl.Consumer;
import akka.stream.javadsl.Source;
import io.moose.flows.hop.HopContext;
import io.moose.flows.kafka.KafkaClients;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * One topic-to-topic hop as the consume-transform-produce loop Kafka Streams and Kafka Connect run
 * for exactly-once: poll, send what each record becomes inside the open transaction, and put the
 * consumed offsets into the same transaction and commit it, every commit interval while a backlog
 * lasts, or as soon as everything readable has been sent (caught up) and at least the min commit
 * interval has passed since the previous commit. Consumers read committed data only, so downstream
 * sees a record exactly when its input's offset is committed: waiting out the whole interval with
 * nothing left to read only delayed it (measured in ops/bench, latency section).
 *
 * <p>Each run owns its consumer and transactional producer on a thread of its own (both clients
 * block); the stream around it only reports the run's end, so a {@link io.moose.flows.hop.SupervisedHop}
 * restarts it with backoff, or ends the hop for good when the run was fenced.
 *
 * <p>Fencing is by transactional id, not by consumer-group generation. A hop has one owner in the
 * cluster (its sharded entity) and one run at a time, which reads every partition of its inputs, so
 * its consumer assigns itself all of them instead of joining the group: a new run after a SIGKILL
 * then does not wait for the dead member's session to expire (6 s at least, the broker's
 * group.min.session.timeout.ms) before it gets its partitions. The group id names where the
 * offsets are committed, and it maps one to one to the transactional id (both are
 * {@code TopicNames.consumerGroup}), so every run that can commit offsets of this group uses the
 * same transactional id: a new run's {@code initTransactions} bumps the producer epoch, aborts
 * what an older run left open, and from then on every send, offset commit and commit of the older
 * run fails with {@code ProducerFencedException} / {@code InvalidProducerEpochException} (Kafka's
 * exactly-once model before KIP-447, exact when partitions never move between transactional ids).
 * The new run's consumer asks for the committed offsets only after that, read_committed.
 * A fenced run learns it at its next transaction; an idle one is stopped by its entity.
 *
 * <p>Why not Alpakka's {@code Transactional.source/flow} (used before, same guarantees): measured
 * in ops/bench, a third of the hop's stream time went to its per-record bookkeeping (an immutable
 * map rebuilt per record) and a further share to a promise per produced record; the transactional
 * producer is pinned to one in-flight request. The copy hop ran at 0.45x of a plain
 * consume-produce loop; this loop is that plain loop plus the transaction calls.
 *
 * @see io.moose.flows.hop.SupervisedHop
 */
public final class TransactionalHop {

    /**
     * What the records of one poll become. The loop starts the next poll's step before it sends the
     * previous poll's outputs, so a step whose work runs on other threads (the transform's slices)
     * overlaps with the loop's sending, which is the other half of the hop's per-record cost.
     */
    @FunctionalInterface
    public interface Step {
        /** Starts turning {@code inputs} into outputs, on this thread or others. */
        Outputs start(ConsumerRecords<byte[], byte[]> inputs);
    }

    /** One poll's outputs, sent by the loop's thread. */
    @FunctionalInterface
    public interface Outputs {
        /**
         * Waits for the outputs if they are still being made, hands each to {@code send}, each
         * partition's in input order, and returns how many inputs went to the dead-letter topic instead.
         */
        int sendTo(java.util.function.Consumer<ProducerRecord<byte[], byte[]>> send);
    }

    /** A poll whose step has started and whose outputs are not sent yet. */
    private record Pending(ConsumerRecords<byte[], byte[]> inputs, Outputs outputs) {
    }

    private static final Logger log = LoggerFactory.getLogger(TransactionalHop.class);
    /** Shortest poll wait while a transaction is due: no busy loop when a commit is a moment away. */
    private static final long MIN_WAIT_NANOS = Duration.ofMillis(1).toNanos();

    private final String name;
    private final Set<String> topics;
    private final Step step;
    private final ConsumerSettings<byte[], byte[]> consumerSettings;
    private final ProducerSettings<byte[], byte[]> producerSettings;
    private final Duration commitInterval;
    private final Duration minCommitInterval;
    private final Duration pollTimeout;

    /**
     * @param name             for the thread and logs, e.g. the transactional id
     * @param consumerSettings with the group id; read_committed and no auto-commit are enforced here
     * @param producerSettings with the transactional id; idempotence is enforced here
     * @param commitInterval    longest a transaction stays open while there is more to read
     * @param minCommitInterval shortest time between two commits when the hop has caught up
     */
    public TransactionalHop(String name, Set<String> topics, Step step, ConsumerSettings<byte[], byte[]> consumerSettings,
                            ProducerSettings<byte[], byte[]> producerSettings, Duration commitInterval,
                            Duration minCommitInterval, Duration pollTimeout) {
        this.name = name;
        this.topics = Set.copyOf(topics);
        this.step = step;
        this.consumerSettings = consumerSettings
                .withProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")
                .withProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        this.producerSettings = producerSettings.withProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        this.commitInterval = commitInterval;
        this.minCommitInterval = minCommitInterval;
        this.pollTimeout = pollTimeout;
    }

    /**
     * One run per materialization: completes when a stop has drained it (last transaction committed),
     * fails when the run failed (its open transaction aborted). Cancelling the stream, e.g. a kill
     * switch, aborts the open transaction as a crash would; its inputs are consumed again next run.
     */
    public Source<Done, NotUsed> source(HopContext context) {
        return Source.fromMaterializer((materializer, attributes) -> {
                    Run run = new Run(context);
                    context.controlledBy(run);
                    run.thread.start();
                    return Source.completionStage(run.finished)
                            .watchTermination((notUsed, terminated) -> {
                                terminated.whenComplete((done, error) -> run.abort());
                                return notUsed;
                            });
                })
                .mapMaterializedValue(ignored -> NotUsed.getInstance());
    }

    /** One run: the loop's thread, its clients, and the control the supervisor drains it with. */
    private final class Run implements Consumer.Control {

        private final HopContext context;
        private final Thread thread;
        private final CompletableFuture<Done> finished = new CompletableFuture<>();
        /** Inputs and dead letters of the open transaction, reported once it commits. */
        private final Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        private long inputs;
        private long deadLettered;
        private long transactionStartedNanos;
        private long lastCommitNanos;
        private List<TopicPartition> partitions = List.of();
        /** At most one: its outputs are sent (and its offsets join the transaction) after the next poll's step has started. */
        private Pending pending;
        private boolean inTransaction;
        private volatile boolean stopRequested;
        private volatile boolean abortRequested;
        private org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer;
        private Producer<byte[], byte[]> producer;

        Run(HopContext context) {
            this.context = context;
            this.thread = new Thread(this::loop, "moose-hop-" + name);
            thread.setDaemon(true);
        }

        private void loop() {
            try {
                long startNanos = System.nanoTime();
                producer = producerSettings.createKafkaProducer();
                // Fences any earlier producer with this transactional id and aborts its open transaction.
                producer.initTransactions();
                long fencedNanos = System.nanoTime();
                consumer = consumerSettings.createKafkaConsumer();
                partitions = partitions(consumer);
                consumer.assign(partitions);
                log.info("{}: run started, earlier runs fenced in {} ms, reading {} partitions from committed offsets",
                        name, (fencedNanos - startNanos) / 1_000_000, partitions.size());
                // The producer owns the transactional id now: the hop is running, even before any record.
                context.ready();
                long commitNanos = commitInterval.toNanos();
                long minCommitNanos = minCommitInterval.toNanos();
                long pollNanos = pollTimeout.toNanos();
                long waitNanos = pollNanos;
                while (!stopRequested && !abortRequested) {
                    // With outputs waiting to be sent, take only what is already fetched: no added latency.
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(pending == null ? Duration.ofNanos(waitNanos) : Duration.ZERO);
                    if (abortRequested) {
                        break;
                    }
                    Pending next = records.isEmpty() ? null : new Pending(records, step.start(records));
                    sendPending();
                    pending = next;
                    waitNanos = pollNanos;
                    if (inTransaction) {
                        long now = System.nanoTime();
                        boolean caughtUp = pending == null && caughtUp();
                        if (now - transactionStartedNanos >= commitNanos || caughtUp && now - lastCommitNanos >= minCommitNanos) {
                            commit();
                        } else {
                            // The next poll waits no longer than until this transaction is due: its interval
                            // is up, or, with nothing left to read, the min interval since the last commit.
                            long due = transactionStartedNanos + commitNanos - now;
                            if (caughtUp) {
                                due = Math.min(due, lastCommitNanos + minCommitNanos - now);
                            }
                            waitNanos = Math.max(MIN_WAIT_NANOS, Math.min(pollNanos, due));
                        }
                    }
                }
                if (!abortRequested) {
                    sendPending();
                    if (inTransaction) {
                        commit();
                    }
                }
                close(true);
                finished.complete(Done.getInstance());
            } catch (WakeupException e) {
                close(true);
                finished.complete(Done.getInstance());
            } catch (RuntimeException | Error e) {
                close(!(e instanceof ProducerFencedException || e instanceof InvalidProducerEpochException));
                finished.completeExceptionally(e);
            }
        }

        /** Every partition of the hop's input topics (all of them are this run's, see the class comment). */
        private List<TopicPartition> partitions(org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> c) {
            List<TopicPartition> all = new ArrayList<>();
            for (String topic : topics) {
                List<PartitionInfo> infos = c.partitionsFor(topic);
                if (infos == null || infos.isEmpty()) {
                    // Not provisioned yet: a failed run restarts with backoff.
                    throw new IllegalStateException(name + ": input topic " + topic + " has no partitions (does it exist?)");
                }
                infos.forEach(info -> all.add(new TopicPartition(info.topic(), info.partition())));
            }
            return all;
        }

        /**
         * Everything readable has been polled: the consumer's position is at the last stable offset
         * the latest fetch reported, in every partition. A partition whose lag is not known yet
         * counts as behind (the commit then waits for the interval, as before).
         */
        private boolean caughtUp() {
            for (TopicPartition partition : partitions) {
                OptionalLong lag = consumer.currentLag(partition);
                if (lag.isEmpty() || lag.getAsLong() > 0) {
                    return false;
                }
            }
            return true;
        }

        /** The pending poll's outputs into the open transaction (begun here if needed), its offsets into the next commit. */
        private void sendPending() {
            if (pending == null) {
                return;
            }
            ConsumerRecords<byte[], byte[]> records = pending.inputs();
            Outputs outputs = pending.outputs();
            pending = null;
            if (!inTransaction) {
                producer.beginTransaction();
                inTransaction = true;
                transactionStartedNanos = System.nanoTime();
            }
            deadLettered += outputs.sendTo(producer::send);
            for (TopicPartition partition : records.partitions()) {
                List<ConsumerRecord<byte[], byte[]>> part = records.records(partition);
                offsets.put(partition, new OffsetAndMetadata(part.get(part.size() - 1).offset() + 1));
            }
            inputs += records.count();
        }

        /** Offsets into the transaction, then commit: its outputs and its offsets become visible together. */
        private void commit() {
            // commitTransaction flushes first and throws if any send of the transaction failed.
            producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
            producer.commitTransaction();
            lastCommitNanos = System.nanoTime();
            inTransaction = false;
            offsets.clear();
            context.processed(inputs);
            if (deadLettered > 0) {
                context.deadLettered(deadLettered);
            }
            inputs = 0;
            deadLettered = 0;
        }

        private void close(boolean abortOpenTransaction) {
            KafkaClients.closeRun(name, producer, inTransaction && abortOpenTransaction, consumer);
            inTransaction = false;
        }

        /** Ends the run without committing, as a crash would; a no-op once the run has finished. */
        void abort() {
            if (!finished.isDone()) {
                abortRequested = true;
                org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> c = consumer;
                if (c != null) {
                    c.wakeup();
                }
            }
        }

        /** Stops consuming; the loop commits its open transaction and closes. */
        @Override
        public CompletionStage<Done> stop() {
            stopRequested = true;
            return finished.handle((d, e) -> Done.getInstance());
        }

        @Override
        public CompletionStage<Done> shutdown() {
            return stop();
        }

        @Override
        public <T> CompletionStage<T> drainAndShutdown(CompletionStage<T> streamCompletion, Executor ec) {
            return stop().thenCompose(d -> streamCompletion);
        }

        @Override
        public CompletionStage<Done> isShutdown() {
            return finished.handle((d, e) -> Done.getInstance());
        }

        /** The clients belong to the loop's thread (neither is thread-safe); their metrics go through JMX. */
        @Override
        public CompletionStage<Map<MetricName, Metric>> getMetrics() {
            return CompletableFuture.completedFuture(Map.of());
        }
    }
}
