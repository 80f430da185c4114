package io.moose.flows.ingest;

import io.moose.flows.kafka.KafkaSettings;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
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
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
    private final BlockingQueue<Slot> idle;
    private final ExecutorService workers;
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
        this.idle = new ArrayBlockingQueue<>(settings.producers());
        for (int i = 0; i < settings.producers(); i++) {
            idle.add(new Slot(producerConfig()));
        }
        AtomicInteger threadNumber = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(settings.producers(), r -> {
            Thread thread = new Thread(r, "ingest-batch-producer-" + threadNumber.getAndIncrement());
            thread.setDaemon(true);
            return thread;
        });
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
        workers.execute(() -> {
            Slot slot = idle.remove();
            try {
                for (List<TransactionalWriter.Pending> group = nextGroup(); group != null; group = nextGroup()) {
                    if (!group.isEmpty()) {
                        slot.write(group);
                    }
                }
            } finally {
                idle.add(slot);
            }
        });
    }

    /**
     * Learns where {@code topics} live and how large their batches may be, and takes each producer
     * once through a send that Kafka refuses ({@link Slot#warmUp}); best effort: the result completes
     * when every producer has been tried, whether or not Kafka answered.
     */
    CompletionStage<Void> warmUp(List<String> topics) {
        List<CompletableFuture<Void>> tried = new ArrayList<>();
        for (int i = 0; i < settings.producers(); i++) {
            CompletableFuture<Void> done = new CompletableFuture<>();
            tried.add(done);
            try {
                workers.execute(() -> {
                    Slot slot = idle.remove();
                    try {
                        topics.forEach(this::limitOf);
                        slot.warmUp(topics);
                    } finally {
                        idle.add(slot);
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
        workers.shutdown();
        try {
            workers.awaitTermination(settings.produceTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        idle.forEach(Slot::close);
        if (admin != null) {
            admin.close(Duration.ZERO);
        }
    }

    /** One idempotent producer, used by one thread at a time, with at most one group's batch in it. */
    private final class Slot {
        private final Map<String, Object> config;
        private KafkaProducer<byte[], byte[]> producer;

        Slot(Map<String, Object> config) {
            this.config = config;
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
                ensureProducer();
                Set<Integer> leaders = new LinkedHashSet<>();
                for (String topic : topics) {
                    for (PartitionInfo partition : producer.partitionsFor(topic)) {
                        if (partition.leader() != null) {
                            leaders.add(partition.leader().id());
                        }
                    }
                }
                sendRefused(leaders);
            } catch (KafkaException e) {
                log.warn("ingest batch producer not warmed up (the first request will find the topics): {}", e.toString());
                discard();
            }
        }

        private void sendRefused(Set<Integer> leaders) {
            List<PartitionInfo> refusing;
            try {
                refusing = producer.partitionsFor(REFUSING_TOPIC);
            } catch (KafkaException e) {
                // Not described to this client (ACLs): the first request pays for the send path.
                log.info("ingest batch producer: no warm-up send ({} not available: {})", REFUSING_TOPIC, e.toString());
                return;
            }
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            Set<Integer> reached = new HashSet<>();
            for (PartitionInfo partition : refusing) {
                if (partition.leader() != null && leaders.contains(partition.leader().id()) && reached.add(partition.leader().id())) {
                    sent.add(producer.send(new ProducerRecord<>(REFUSING_TOPIC, partition.partition(), null, new byte[0])));
                }
            }
            producer.flush();
            for (Future<RecordMetadata> f : sent) {
                try {
                    RecordMetadata accepted = f.get();
                    // Cannot happen (see REFUSING_TOPIC); said loudly should a broker ever behave otherwise.
                    log.error("Kafka accepted the ingest warm-up record it must refuse, at {}", accepted);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof InvalidTopicException || e.getCause() instanceof InvalidRecordException)) {
                        log.warn("ingest batch producer warm-up send did not get its refusal ({}); the producer is set up again on first use",
                                String.valueOf(e.getCause()));
                        discard();
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
            int partitions;
            try {
                ensureProducer();
                // May wait for metadata (up to produce-timeout); nothing is appended yet.
                partitions = producer.partitionsFor(topic).size();
            } catch (KafkaException e) {
                discard();
                fail(group, new TransactionalWriter.Unavailable("Kafka did not take the write within "
                        + settings.produceTimeout().toMillis() + " ms (moose-flows.ingest.produce-timeout): " + e, e));
                return;
            }
            List<TransactionalWriter.Pending> claimed = new ArrayList<>(group.size());
            for (TransactionalWriter.Pending request : group) {
                // A request answered 503 meanwhile (timed out waiting) is left out: it must stay unwritten.
                if (request.state().compareAndSet(TransactionalWriter.State.PENDING, TransactionalWriter.State.COMMITTING)) {
                    claimed.add(request);
                }
            }
            if (claimed.isEmpty()) {
                return;
            }
            int partition = Math.floorMod(nextPartition.getAndIncrement(), partitions);
            double sentBefore = recordsSent();
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            try {
                for (TransactionalWriter.Pending request : claimed) {
                    for (byte[] value : request.values()) {
                        sent.add(producer.send(new ProducerRecord<>(topic, partition, null, value)));
                        if (sent.size() == 1) {
                            afterFirstAppend.run();
                        }
                    }
                }
            } catch (KafkaException e) {
                // Part of the group may sit in the accumulator, not sent (the linger holds it):
                // closing the producer at once aborts that batch, so none of it is written.
                discard();
                fail(claimed, new TransactionalWriter.Unavailable("Kafka did not take the write: " + e, e));
                return;
            }
            producer.flush();
            Throwable failure = null;
            int succeeded = 0;
            for (Future<RecordMetadata> f : sent) {
                try {
                    f.get();
                    succeeded++;
                } catch (ExecutionException e) {
                    failure = e.getCause() == null ? e : e.getCause();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failure = e;
                }
            }
            if (failure == null) {
                for (TransactionalWriter.Pending request : claimed) {
                    request.state().set(TransactionalWriter.State.DONE);
                    request.result().complete(null);
                }
                return;
            }
            double sentAfter = recordsSent();
            boolean left = Double.isNaN(sentBefore) || Double.isNaN(sentAfter) || sentAfter > sentBefore;
            if (succeeded > 0) {
                // One batch completes as one: this would mean the group was split after all.
                log.error("ingest batch of {} records to {}-{} partly acknowledged ({} of them); reporting its outcome as unknown",
                        sent.size(), topic, partition, succeeded);
            }
            discard();
            log.warn("ingest write to Kafka failed ({}): {}", left ? "outcome unknown" : "nothing written", failure.toString());
            fail(claimed, left || succeeded > 0
                    ? new TransactionalWriter.OutcomeUnknown("Kafka did not confirm the write within "
                    + settings.produceTimeout().toMillis() + " ms (moose-flows.ingest.produce-timeout): " + failure, failure)
                    : new TransactionalWriter.Unavailable("Kafka did not take the write within "
                    + settings.produceTimeout().toMillis() + " ms (moose-flows.ingest.produce-timeout): " + failure, failure));
        }

        /** Batches this producer has drained for sending (record-send-total): the ones that may have reached Kafka. */
        private double recordsSent() {
            for (Map.Entry<MetricName, ? extends Metric> e : producer.metrics().entrySet()) {
                if (e.getKey().name().equals("record-send-total") && e.getKey().group().equals("producer-metrics")) {
                    return ((Number) e.getValue().metricValue()).doubleValue();
                }
            }
            // Without the metric every failure counts as possibly written: never claims more than is known.
            return Double.NaN;
        }

        private void fail(List<TransactionalWriter.Pending> group, RuntimeException failure) {
            for (TransactionalWriter.Pending request : group) {
                if (request.state().getAndSet(TransactionalWriter.State.DONE) != TransactionalWriter.State.DONE) {
                    request.result().completeExceptionally(failure);
                }
            }
        }

        private void ensureProducer() {
            if (producer == null) {
                producer = new KafkaProducer<>(config);
            }
        }

        private void discard() {
            if (producer != null) {
                producer.close(Duration.ZERO);
                producer = null;
            }
        }

        void close() {
            if (producer != null) {
                producer.close(settings.produceTimeout());
                producer = null;
            }
        }
    }
}
