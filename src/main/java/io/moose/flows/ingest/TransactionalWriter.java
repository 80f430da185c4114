package io.moose.flows.ingest;

import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.model.TopicNames;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Writes requests' records so readers at read_committed see all records of a request or none: a
 * request that fits one producer batch goes to {@link SingleBatchWriter} (no transaction), any
 * other inside a Kafka transaction on a small pool of transactional producers. Requests that queue up while the
 * producers are busy share one transaction (group commit, up to
 * {@code ingest.max-records-per-transaction} records), so small requests do not each pay a commit.
 * A request not committed within the produce timeout is never committed later: the caller has
 * already answered 503, so a transaction holding it is aborted and the others in it are retried.
 * The producers block, so they run on threads of their own, one per producer.
 *
 * <p>Each producer is created, its transactions initialised and the topics' leaders fetched by
 * {@link #warmUp}, before the node reports ready, so the first request does not pay for finding the
 * transaction coordinator and the topic's leaders; nothing is written. A producer not warmed up yet
 * (or discarded after a failure) is set up on first use.
 */
final class TransactionalWriter implements AutoCloseable {

    /** Kafka did not take the write; nothing of it is visible. */
    static final class Unavailable extends RuntimeException {
        Unavailable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Kafka did not confirm a write that may have reached it (a batch sent, then timed out): all of
     * the request's records are written or none, and which is not known.
     */
    static final class OutcomeUnknown extends RuntimeException {
        OutcomeUnknown(String message, Throwable cause) {
            super(message, cause);
        }
    }

    enum State { PENDING, COMMITTING, DONE }

    private static final Logger log = LoggerFactory.getLogger(TransactionalWriter.class);

    private final IngestSettings settings;
    private final SlotWorkers<Slot> workers;
    private final ScheduledThreadPoolExecutor timer;
    private final int maxRecordBytes;
    private final ConcurrentLinkedQueue<Pending> waiting = new ConcurrentLinkedQueue<>();
    /** Producers whose transactions have been initialised at least once. */
    private final AtomicInteger initialised = new AtomicInteger();
    private final CompletableFuture<Void> warm = new CompletableFuture<>();

    private final SingleBatchWriter singleBatch;

    /** One request's records and how its caller is answered. */
    record Pending(String topic, List<byte[]> values, AtomicReference<State> state, CompletableFuture<Void> result) {
    }

    TransactionalWriter(KafkaSettings kafka, IngestSettings settings, TopicNames names) {
        this.settings = settings;
        int largest = Integer.MAX_VALUE;
        List<Slot> slots = new ArrayList<>();
        for (int i = 0; i < settings.producers(); i++) {
            Map<String, Object> config = producerConfig(kafka, settings, names.ingestTransactionalId(settings.nodeId(), i));
            // Producers are created on first use; a configuration error should stop the node now instead.
            largest = new ProducerConfig(config).getInt(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
            // initTransactions fences an earlier producer with this id and aborts what it left open.
            slots.add(new Slot(new ProducerSlot(config, KafkaProducer::initTransactions, settings.produceTimeout())));
        }
        this.maxRecordBytes = largest;
        this.singleBatch = new SingleBatchWriter(kafka, settings, largest, this::writeTransactionally);
        this.workers = new SlotWorkers<>(slots, "ingest-producer", this::drain, () -> !waiting.isEmpty());
        this.timer = new ScheduledThreadPoolExecutor(1, r -> {
            Thread thread = new Thread(r, "ingest-produce-timeout");
            thread.setDaemon(true);
            return thread;
        });
        // A request's timeout is cancelled when it is answered: without this every request's records
        // stayed reachable from the timer's queue for the whole produce timeout (15 s of requests).
        this.timer.setRemoveOnCancelPolicy(true);
    }

    private static Map<String, Object> producerConfig(KafkaSettings kafka, IngestSettings settings, String transactionalId) {
        Map<String, Object> config = kafka.commonClientProperties();
        // Kafka reads these as 32-bit ints.
        int timeoutMs = Math.toIntExact(settings.produceTimeout().toMillis());
        int lingerMs = Math.toIntExact(settings.producerLinger().toMillis());
        config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.LINGER_MS_CONFIG, lingerMs);
        // Every blocking step of a transaction gives up within the produce timeout, so a request
        // whose transaction cannot finish is aborted rather than left hanging.
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeoutMs);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, timeoutMs);
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.max(1, timeoutMs - lingerMs));
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return config;
    }

    /**
     * The largest record the producers send (max.request.size): a bigger one is the client's mistake,
     * not Kafka's unavailability, so the route refuses it up front.
     */
    int maxRecordBytes() {
        return maxRecordBytes;
    }

    /** Completes when every value is committed to {@code topic}; fails with {@link Unavailable} when none is. */
    CompletionStage<Void> write(String topic, List<byte[]> values) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        AtomicReference<State> state = new AtomicReference<>(State.PENDING);
        ScheduledFuture<?> timeout = timer.schedule(() -> {
            if (state.compareAndSet(State.PENDING, State.DONE)) {
                result.completeExceptionally(new Unavailable("Kafka did not take the write within "
                        + settings.produceTimeout().toMillis() + " ms (moose-flows.ingest.produce-timeout)", null));
            }
        }, settings.produceTimeout().toMillis(), TimeUnit.MILLISECONDS);
        result.whenComplete((done, failed) -> timeout.cancel(false));
        Pending request = new Pending(topic, values, state, result);
        long bytes = SingleBatchWriter.batchBytes(values);
        if (singleBatch.mayTake(bytes)) {
            singleBatch.write(request, (int) bytes);
        } else {
            writeTransactionally(request);
        }
        return result;
    }

    /** The single-batch path, for tests. */
    SingleBatchWriter singleBatch() {
        return singleBatch;
    }

    private void writeTransactionally(Pending request) {
        waiting.add(request);
        workers.signal();
    }

    /** Writes the waiting requests, a transaction after another, on {@code slot} until none wait. */
    private void drain(Slot slot) {
        for (List<Pending> group = nextGroup(); !group.isEmpty(); group = nextGroup()) {
            slot.write(group);
        }
    }

    /**
     * Creates every producer, initialises its transactions and fetches the metadata of {@code topics},
     * each on a producer thread; retries a failed producer every second until it succeeds or the
     * writer closes; then warms the single-batch producers ({@link SingleBatchWriter#warmUp}). The
     * result completes once every producer has been initialised and every single-batch one tried.
     */
    CompletionStage<Void> warmUp(List<String> topics) {
        for (int i = 0; i < workers.size(); i++) {
            warmOne(topics);
        }
        // Then the single-batch producers: by then Kafka answers, and its transaction log, where
        // their warm-up sends the records Kafka refuses, exists (initTransactions creates it).
        return warm.thenCompose(initialised -> singleBatch.warmUp(topics))
                .thenCompose(tried -> topics.isEmpty() ? CompletableFuture.<Void>completedFuture(null) : writeNothing(topics.get(0)));
    }

    /**
     * Takes a request of no records through {@link #write} (the produce timeout's timer, the
     * single-batch queue, grouping, a producer's metadata, completion), so the first request does not
     * load and link that code itself. No record means nothing is sent: the producer appends the
     * request's records, here none, and its flush has nothing to send. Never fails.
     */
    private CompletionStage<Void> writeNothing(String topic) {
        return write(topic, List.of()).handle((done, failure) -> {
            if (failure != null) {
                log.info("ingest writer warm-up (a request of no records) did not complete: {}", failure.toString());
            }
            return null;
        });
    }

    /** Warms the idle producer a worker finds next; again (later after a failure) while some are cold. */
    private void warmOne(List<String> topics) {
        if (warm.isDone() || workers.closed()) {
            return;
        }
        try {
            workers.onSomeSlot(slot -> {
                boolean wasWarm = slot.everInitialised;
                boolean ok = slot.warmUp(topics);
                if (!warm.isDone() && (!ok || wasWarm)) {
                    // Failed: again in a second. Or this slot was warm already because a request had
                    // the cold one meanwhile: look again shortly.
                    try {
                        timer.schedule(() -> warmOne(topics), ok ? 20 : 1000, TimeUnit.MILLISECONDS);
                    } catch (RejectedExecutionException closed) {
                        // the writer is closing
                    }
                }
            });
        } catch (RejectedExecutionException closed) {
            // the writer is closing
        }
    }

    /** Whether every producer has been set up (see {@link #warmUp}). */
    boolean warm() {
        return warm.isDone();
    }

    /** The waiting requests the next transaction takes: at least one, whole requests only. */
    private List<Pending> nextGroup() {
        List<Pending> group = new ArrayList<>();
        int records = 0;
        for (Pending next = waiting.peek(); next != null; next = waiting.peek()) {
            if (!group.isEmpty() && records + next.values().size() > settings.maxRecordsPerTransaction()) {
                break;
            }
            if (waiting.remove(next) && next.state().get() == State.PENDING) {
                group.add(next);
                records += next.values().size();
            }
        }
        return group;
    }

    @Override
    public void close() {
        singleBatch.close();
        timer.shutdownNow();
        workers.close(settings.produceTimeout(), slot -> slot.producer.close());
    }

    /** One transactional producer, created on first use so a node starts while Kafka is down. */
    private final class Slot {
        private final ProducerSlot producer;
        private boolean everInitialised;

        Slot(ProducerSlot producer) {
            this.producer = producer;
        }

        void write(List<Pending> group) {
            boolean inTransaction = false;
            KafkaProducer<byte[], byte[]> kafka = null;
            try {
                kafka = producer.producer();
                kafka.beginTransaction();
                inTransaction = true;
                List<Future<RecordMetadata>> sent = new ArrayList<>();
                for (Pending request : group) {
                    for (byte[] value : request.values()) {
                        sent.add(kafka.send(new ProducerRecord<>(request.topic(), null, value)));
                    }
                }
                kafka.flush();
                for (Future<RecordMetadata> f : sent) {
                    f.get();
                }
                List<Pending> claimed = new ArrayList<>(group.size());
                for (Pending request : group) {
                    if (request.state().compareAndSet(State.PENDING, State.COMMITTING)) {
                        claimed.add(request);
                    }
                }
                if (claimed.size() < group.size()) {
                    // A request timed out (answered 503) meanwhile: none of this transaction may become
                    // visible. The others go back to the queue for the next one.
                    kafka.abortTransaction();
                    claimed.forEach(request -> request.state().set(State.PENDING));
                    waiting.addAll(claimed);
                    return;
                }
                kafka.commitTransaction();
                markWarm();
                for (Pending request : claimed) {
                    request.state().set(State.DONE);
                    request.result().complete(null);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                fail(kafka, e, inTransaction, group);
            } catch (ExecutionException | KafkaException e) {
                fail(kafka, e, inTransaction, group);
            }
        }

        /** This producer has taken part in a transaction or warmed up: counts towards {@link #warm()}. */
        private void markWarm() {
            if (!everInitialised) {
                everInitialised = true;
                if (initialised.incrementAndGet() == settings.producers()) {
                    warm.complete(null);
                }
            }
        }

        /**
         * Sets the producer up, learns where {@code topics} live and takes it once through a whole
         * transaction, aborted: a first request on a fresh JVM otherwise paid for loading and
         * interpreting the producer's transaction path (measured 2.3-3.2 s on a busy two-core host).
         * An aborted transaction's record is never read by moose-flows (every consumer reads committed
         * data only), as with any request whose transaction could not finish. False (and logged) when
         * Kafka did not answer.
         */
        boolean warmUp(List<String> topics) {
            // initTransactions (the coordinator found, the producer id fenced in) and every topic's
            // leaders. No record: an aborted warm-up transaction would still be a record in the
            // users' ingestion topics for read_uncommitted readers, and moves their offsets.
            try {
                KafkaProducer<byte[], byte[]> kafka = producer.producer();
                topics.forEach(kafka::partitionsFor);
                markWarm();
                return true;
            } catch (KafkaException e) {
                log.warn("ingest producer not ready yet, retrying: {}", e.toString());
                producer.discard();
                return false;
            }
        }

        private void fail(KafkaProducer<byte[], byte[]> kafka, Exception e, boolean inTransaction, List<Pending> group) {
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            boolean fatal = cause instanceof ProducerFencedException || cause instanceof OutOfOrderSequenceException
                    || cause instanceof AuthorizationException || cause instanceof UnsupportedVersionException;
            if (inTransaction && !fatal) {
                try {
                    kafka.abortTransaction();
                } catch (KafkaException abortFailed) {
                    fatal = true;
                }
            }
            if (fatal || !inTransaction) {
                // A fresh producer with the same transactional id fences this one and aborts
                // whatever transaction it could not finish.
                producer.discard();
            }
            log.warn("ingest write to Kafka failed: {}", cause.toString());
            for (Pending request : group) {
                if (request.state().getAndSet(State.DONE) != State.DONE) {
                    request.result().completeExceptionally(new Unavailable("Kafka did not take the write: " + cause, cause));
                }
            }
        }
    }
}
