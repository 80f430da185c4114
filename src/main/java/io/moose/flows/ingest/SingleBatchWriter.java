package io.moose.flows.ingest;

import io.moose.flows.kafka.KafkaSettings;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * Writes requests without a Kafka transaction when a request's records can go out as one producer
 * batch to one partition: Kafka appends a batch atomically, and an idempotent producer retries it
 * without duplicating, so a read_committed reader sees all of the request's records or none.
 *
 * <p>That holds only if the request really is one batch, so each producer here is used by one
 * thread at a time and holds one group of requests: their records are appended with a linger far
 * longer than appending takes (nothing is sent before {@code flush}), the group's size is bounded
 * below {@code batch.size} (the accumulator never opens a second batch), below the topic's
 * {@code max.message.bytes} (the broker never answers MESSAGE_TOO_LARGE, on which the Java producer
 * would split the batch and retry the halves separately) and compression is off (sizes are exact,
 * not estimated). A request that does not fit, or whose topic's limit cannot be learned, goes back
 * to the transactional path.
 *
 * <p>What a failed request means differs from a transaction, which can be aborted: a batch that was
 * handed to the network and then timed out (delivery.timeout = produce-timeout) may have been
 * appended. The writer tells the two apart by the producer's {@code record-send-total}: unchanged
 * means the batch never left (nothing written, {@link TransactionalWriter.Unavailable}); changed
 * means {@link TransactionalWriter.OutcomeUnknown}: all of the records or none, not known which.
 */
final class SingleBatchWriter implements AutoCloseable {

    /** Upper bound of one record's framing in a v2 batch beyond its value: lengths, attributes, deltas, null key, no headers. */
    static final int RECORD_OVERHEAD = 32;
    /** A v2 record batch's header. */
    static final int BATCH_OVERHEAD = 61;
    /**
     * Where the warm-up sends the records Kafka must refuse ({@link #warmUp}): Kafka's transaction
     * log, an internal topic (a broker appends nothing a client produces to one) and a compacted one
     * (a broker refuses a record without a key), so a keyless record sent there is refused twice over.
     * It exists once a transactional producer has been initialised, which the ingest producers are
     * before this warm-up runs.
     */
    static final String REFUSING_TOPIC = "__transaction_state";
    /** How long a topic's learned max.message.bytes is trusted before it is asked again. */
    private static final long LIMIT_TTL_NANOS = TimeUnit.SECONDS.toNanos(60);

    private static final Logger log = LoggerFactory.getLogger(SingleBatchWriter.class);

    private record Queued(TransactionalWriter.Pending request, int bytes) {
    }

    private record Limit(int bytes, long learnedNanos) {
    }

    private final IngestSettings settings;
    private final KafkaSettings kafka;
    private final int maxBatchBytes;
    private final Consumer<TransactionalWriter.Pending> transactional;
    private final SlotWorkers<Slot> workers;
    private final ConcurrentLinkedQueue<Queued> waiting = new ConcurrentLinkedQueue<>();
    private final Map<String, Limit> limits = new ConcurrentHashMap<>();
    private final AtomicInteger nextPartition = new AtomicInteger();
    private Admin admin;
    /** Test hook: runs on the producer thread after a group's first record is appended, before the rest. */
    volatile Runnable afterFirstAppend = () -> { };

    /**
     * @param transactional where a request goes that turns out not to fit one batch of its topic
     */
    SingleBatchWriter(KafkaSettings kafka, IngestSettings settings, int maxRequestSize,
                      Consumer<TransactionalWriter.Pending> transactional) {
        this.settings = settings;
        this.kafka = kafka;
        this.maxBatchBytes = (int) Math.min(settings.singleBatchMaxBytes(), maxRequestSize);
        this.transactional = transactional;
        List<Slot> slots = new ArrayList<>();
        for (int i = 0; i < settings.producers(); i++) {
            slots.add(new Slot(new ProducerSlot(producerConfig(), producer -> { }, settings.produceTimeout())));
        }
        this.workers = new SlotWorkers<>(slots, "ingest-batch-producer", this::drain, () -> !waiting.isEmpty());
    }

    private Map<String, Object> producerConfig() {
        Map<String, Object> config = kafka.commonClientProperties();
        int timeoutMs = Math.toIntExact(settings.produceTimeout().toMillis());
        // Half the produce timeout: appending a group takes microseconds, so its batch is sent by
        // flush() and never early with only part of the group in it.
        int lingerMs = Math.max(1, timeoutMs / 2);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.LINGER_MS_CONFIG, lingerMs);
        config.put(ProducerConfig.BATCH_SIZE_CONFIG, maxBatchBytes);
        config.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "none");
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeoutMs);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, timeoutMs);
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.max(1, timeoutMs - lingerMs));
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return config;
    }

    /** Bytes {@code values} take in one batch, at most (an upper bound, exact to within the varint slack). */
    static long batchBytes(List<byte[]> values) {
        long bytes = BATCH_OVERHEAD;
        for (byte[] value : values) {
            bytes += value.length + RECORD_OVERHEAD;
        }
        return bytes;
    }

    /** Whether a request of this size may take this path at all (its topic's limit is checked later). */
    boolean mayTake(long bytes) {
        return bytes <= maxBatchBytes;
    }

    void write(TransactionalWriter.Pending request, int bytes) {
        waiting.add(new Queued(request, bytes));
        workers.signal();
    }

    /** Writes the waiting requests, group after group, on {@code slot} until none wait. */
    private void drain(Slot slot) {
        for (List<TransactionalWriter.Pending> group = nextGroup(); group != null; group = nextGroup()) {
            if (!group.isEmpty()) {
                slot.write(group);
            }
        }
    }

    /**
     * Learns where {@code topics} live and how large their batches may be, and takes each producer
     * once through a send that Kafka refuses ({@link Slot#warmUp}); best effort: the result completes
     * when every producer has been tried, whether or not Kafka answered.
     */
    CompletionStage<Void> warmUp(List<String> topics) {
        List<CompletableFuture<Void>> tried = new ArrayList<>();
        for (int i = 0; i < workers.size(); i++) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            tried.add(done);
            try {
                workers.onSomeSlot(slot -> {
                    try {
                        topics.forEach(this::limitOf);
                        slot.warmUp(topics);
                    } finally {
                        done.complete(null);
                    }
                });
            } catch (RejectedExecutionException closed) {
                done.complete(null);
            }
        }
        return CompletableFuture.allOf(tried.toArray(CompletableFuture[]::new));
    }

    /**
     * The next group: the first waiting request and then others for the same topic while they fit
     * one batch together; empty when the first went elsewhere (timed out, or too large for its topic);
     * null when nothing waits.
     */
    private List<TransactionalWriter.Pending> nextGroup() {
        Queued first = waiting.poll();
        if (first == null) {
            return null;
        }
        List<TransactionalWriter.Pending> group = new ArrayList<>();
        if (first.request().state().get() != TransactionalWriter.State.PENDING) {
            return group;
        }
        String topic = first.request().topic();
        int limit = limitOf(topic);
        if (first.bytes() > limit) {
            transactional.accept(first.request());
            return group;
        }
        group.add(first.request());
        long total = first.bytes();
        for (Iterator<Queued> it = waiting.iterator(); it.hasNext(); ) {
            Queued next = it.next();
            if (next.request().topic().equals(topic) && total + next.bytes() - BATCH_OVERHEAD <= limit
                    && waiting.remove(next)) {
                group.add(next.request());
                total += next.bytes() - BATCH_OVERHEAD;
            }
        }
        return group;
    }

    /**
     * The largest batch this path sends to {@code topic}: the smaller of single-batch-max-bytes and
     * the topic's max.message.bytes (learned through the Admin client, again after a minute); 0 when
     * it cannot be learned, so the request takes the transactional path.
     */
    private int limitOf(String topic) {
        Limit known = limits.get(topic);
        if (known != null && System.nanoTime() - known.learnedNanos() < LIMIT_TTL_NANOS) {
            return known.bytes();
        }
        try {
            if (admin == null) {
                admin = Admin.create(kafka.commonClientProperties());
            }
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            int timeoutMs = Math.toIntExact(settings.produceTimeout().toMillis() / 2);
            Config config = admin.describeConfigs(List.of(resource), new DescribeConfigsOptions().timeoutMs(timeoutMs))
                    .all().get(timeoutMs, TimeUnit.MILLISECONDS).get(resource);
            ConfigEntry entry = config == null ? null : config.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
            if (entry == null || entry.value() == null) {
                return 0;
            }
            int bytes = (int) Math.min(maxBatchBytes, Long.parseLong(entry.value()));
            limits.put(topic, new Limit(bytes, System.nanoTime()));
            return bytes;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        } catch (ExecutionException | java.util.concurrent.TimeoutException | KafkaException | NumberFormatException e) {
            log.warn("could not learn max.message.bytes of {}; its requests take the transactional path: {}", topic, e.toString());
            return 0;
        }
    }

    @Override
    public void close() {
        workers.close(settings.produceTimeout(), slot -> slot.producer.close());
        if (admin != null) {
            admin.close(Duration.ZERO);
        }
    }

    /**
     * Counts the acknowledgements of one group's records (callbacks run on the producer's network
     * thread, or on the appending thread for a record refused on append). All of them succeeded only
     * when the batch was appended: the last callback then answers the group's requests at once,
     * without waiting for the writing thread to come back from {@code flush()}.
     */
    private static final class GroupAck implements Callback {
        private final List<TransactionalWriter.Pending> requests;
        private final int records;
        private final AtomicInteger succeeded = new AtomicInteger();
        private final AtomicInteger answered = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        GroupAck(List<TransactionalWriter.Pending> requests, int records) {
            this.requests = requests;
            this.records = records;
        }

        @Override
        public void onCompletion(RecordMetadata metadata, Exception exception) {
            if (exception != null) {
                failure.compareAndSet(null, exception);
            } else {
                succeeded.incrementAndGet();
            }
            if (answered.incrementAndGet() == records && failure.get() == null) {
                for (TransactionalWriter.Pending request : requests) {
                    request.state().set(TransactionalWriter.State.DONE);
                    request.result().complete(null);
                }
            }
        }

        boolean allSucceeded() {
            return succeeded.get() == records;
        }
    }

    /** One idempotent producer, used by one thread at a time, with at most one group's batch in it. */
    private final class Slot {
        private final ProducerSlot producer;

        Slot(ProducerSlot producer) {
            this.producer = producer;
        }

        /**
         * Creates the producer, learns where {@code topics} live and sends one keyless record to
         * {@link #REFUSING_TOPIC} through each broker that leads one of their partitions: in a fresh
         * JVM the first request otherwise paid for loading and interpreting the producer's whole send
         * path (accumulator, batch and record building, CRC, the produce request and its answer) and
         * for the connection to its partition's leader, 1.3 of the 2.4 s it took on a busy two-core
         * host. Kafka refuses every such record, so nothing is written to any topic; the producer
         * stays usable (a refused batch only touches that partition's sequence numbers).
         */
        void warmUp(List<String> topics) {
            try {
                KafkaProducer<byte[], byte[]> kafka = producer.producer();
                Set<Integer> leaders = new LinkedHashSet<>();
                for (String topic : topics) {
                    for (PartitionInfo partition : kafka.partitionsFor(topic)) {
                        if (partition.leader() != null) {
                            leaders.add(partition.leader().id());
                        }
                    }
                }
                sendRefused(kafka, leaders);
            } catch (KafkaException e) {
                log.warn("ingest batch producer not warmed up (the first request will find the topics): {}", e.toString());
                producer.discard();
            }
        }

        private void sendRefused(KafkaProducer<byte[], byte[]> kafka, Set<Integer> leaders) {
            List<PartitionInfo> refusing;
            try {
                refusing = kafka.partitionsFor(REFUSING_TOPIC);
            } catch (KafkaException e) {
                // Not described to this client (ACLs): the first request pays for the send path.
                log.info("ingest batch producer: no warm-up send ({} not available: {})", REFUSING_TOPIC, e.toString());
                return;
            }
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            Set<Integer> reached = new HashSet<>();
            for (PartitionInfo partition : refusing) {
                if (partition.leader() != null && leaders.contains(partition.leader().id()) && reached.add(partition.leader().id())) {
                    sent.add(kafka.send(new ProducerRecord<>(REFUSING_TOPIC, partition.partition(), null, new byte[0])));
                }
            }
            kafka.flush();
            for (Future<RecordMetadata> f : sent) {
                try {
                    RecordMetadata accepted = f.get();
                    // Cannot happen (see REFUSING_TOPIC); said loudly should a broker ever behave otherwise.
                    log.error("Kafka accepted the ingest warm-up record it must refuse, at {}", accepted);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof InvalidTopicException || e.getCause() instanceof InvalidRecordException)) {
                        log.warn("ingest batch producer warm-up send did not get its refusal ({}); the producer is set up again on first use",
                                String.valueOf(e.getCause()));
                        producer.discard();
                        return;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        void write(List<TransactionalWriter.Pending> group) {
            String topic = group.get(0).topic();
            KafkaProducer<byte[], byte[]> kafka;
            int partitions;
            try {
                kafka = producer.producer();
                // May wait for metadata (up to produce-timeout); nothing is appended yet.
                partitions = kafka.partitionsFor(topic).size();
            } catch (KafkaException e) {
                producer.discard();
                fail(group, new TransactionalWriter.Unavailable("Kafka did not take the write within "
                        + settings.produceTimeout().toMillis() + " ms (moose-flows.ingest.produce-timeout): " + e, e));
                return;
            }
            List<TransactionalWriter.Pending> claimed = new ArrayList<>(group.size());
            int records = 0;
            for (TransactionalWriter.Pending request : group) {
                // A request answered 503 meanwhile (timed out waiting) is left out: it must stay unwritten.
                if (request.state().compareAndSet(TransactionalWriter.State.PENDING, TransactionalWriter.State.COMMITTING)) {
                    claimed.add(request);
                    records += request.values().size();
                }
            }
            if (claimed.isEmpty()) {
                return;
            }
            int partition = Math.floorMod(nextPartition.getAndIncrement(), partitions);
            double sentBefore = producer.recordsSent();
            GroupAck ack = new GroupAck(claimed, records);
            boolean first = true;
            try {
                for (TransactionalWriter.Pending request : claimed) {
                    for (byte[] value : request.values()) {
                        kafka.send(new ProducerRecord<>(topic, partition, null, value), ack);
                        if (ack.failure.get() != null) {
                            // Refused on append (the callback ran at once): the rest must not go out without it.
                            throw new KafkaException("a record was refused on append", ack.failure.get());
                        }
                        if (first) {
                            first = false;
                            afterFirstAppend.run();
                        }
                    }
                }
            } catch (KafkaException e) {
                // Part of the group may sit in the accumulator, not sent (the linger holds it):
                // closing the producer at once aborts that batch, so none of it is written.
                producer.discard();
                fail(claimed, new TransactionalWriter.Unavailable("Kafka did not take the write: " + e, e));
                return;
            }
            Throwable failure = null;
            try {
                // Sends the batch and returns once it is acknowledged or failed: every callback has run
                // (a batch's future completes after its records' callbacks).
                kafka.flush();
                failure = ack.failure.get();
                if (failure == null && !ack.allSucceeded()) {
                    failure = new IllegalStateException("flush returned before every record of the batch was acknowledged");
                }
            } catch (KafkaException e) {
                failure = e;
            }
            if (failure == null) {
                // Answered by the last callback already; a group without records has none to do it.
                for (TransactionalWriter.Pending request : claimed) {
                    request.state().set(TransactionalWriter.State.DONE);
                    request.result().complete(null);
                }
                return;
            }
            double sentAfter = producer.recordsSent();
            boolean left = Double.isNaN(sentBefore) || Double.isNaN(sentAfter) || sentAfter > sentBefore;
            int succeeded = ack.succeeded.get();
            if (succeeded > 0) {
                // One batch completes as one: this would mean the group was split after all.
                log.error("ingest batch of {} records to {}-{} partly acknowledged ({} of them); reporting its outcome as unknown",
                        records, topic, partition, succeeded);
            }
            producer.discard();
            log.warn("ingest write to Kafka failed ({}): {}", left ? "outcome unknown" : "nothing written", failure.toString());
            fail(claimed, left || succeeded > 0
                    ? new TransactionalWriter.OutcomeUnknown("Kafka did not confirm the write within "
                    + settings.produceTimeout().toMillis() + " ms (moose-flows.ingest.produce-timeout): " + failure, failure)
                    : new TransactionalWriter.Unavailable("Kafka did not take the write within "
                    + settings.produceTimeout().toMillis() + " ms (moose-flows.ingest.produce-timeout): " + failure, failure));
        }

        private void fail(List<TransactionalWriter.Pending> group, RuntimeException failure) {
            for (TransactionalWriter.Pending request : group) {
                if (request.state().getAndSet(TransactionalWriter.State.DONE) != TransactionalWriter.State.DONE) {
                    request.result().completeExceptionally(failure);
                }
            }
        }
    }
}
