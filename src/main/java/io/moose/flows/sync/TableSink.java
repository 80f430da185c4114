package io.moose.flows.sync;

import akka.NotUsed;
import akka.kafka.ConsumerSettings;
import akka.stream.Attributes;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.hop.HopContext;
import io.moose.flows.hop.RunFencedException;
import io.moose.flows.hop.SupervisedHop;
import io.moose.flows.kafka.KafkaClients;
import io.moose.flows.kafka.ReadableLag;
import io.moose.flows.kafka.TopicOffsets;
import io.moose.flows.model.ModelVersion;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.util.ByteArrayBuilder;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A topic into a ClickHouse table, exactly once with no state outside ClickHouse (design section 3):
 * every row carries its source coordinates; each run first reads the table's highest offset per
 * partition, consumes from just above it (skipping anything at or below it), and writes each batch
 * as ONE INSERT through the run's own ingress, which the next run drops before it reads the
 * high-water mark ({@link SinkFence}: ClickHouse itself refuses a stale run's rows). A failure
 * anywhere fails the run; the next run starts again from the table's own high-water mark, so an
 * insert that did land is never repeated and one that did not is redone.
 *
 * <p>One sink owns all partitions of its topic (manual assignment): exactly one runs per sink in
 * the cluster. After each insert it also commits the consumed offsets to its consumer group, only
 * so that standard Kafka tools show its lag; it never reads them back.
 *
 * <p>Each batch is sent as TabSeparated rows ({@link RowEncoder#encodeTabSeparatedInto}): they store
 * what JSONEachRow would, and ClickHouse parses them with less of the CPU the sink itself needs.
 *
 * <p>A record that is not a valid record of the table's version is logged, counted and skipped:
 * one bad record must not stop a table.
 */
public final class TableSink {

    private static final Logger log = LoggerFactory.getLogger(TableSink.class);

    /** One batch, encoded: the INSERT body (TabSeparated rows), and what it covers. */
    record EncodedBatch(byte[] body, int rows, int invalid, Map<TopicPartition, Long> nextOffsets) {
    }

    private final String owner;
    private final String hop;
    private final String topic;
    private final String table;
    private final String group;
    private final TableSinkSettings settings;
    private final ConsumerSettings<byte[], byte[]> consumerSettings;
    private final Admin admin;
    private final ReadableLag lag;
    private final ClickHouse clickhouse;
    private final RowEncoder encoder;
    private final Timer insertTimer;
    private final DistributionSummary insertRows;
    private final Counter invalidRecords;
    private volatile Function<EncodedBatch, CompletionStage<Void>> beforeInsert = batch -> CompletableFuture.completedFuture(null);

    /**
     * @param owner the model version (table sync) or flow (to-table hop) the sink belongs to
     * @param hop   its hop id, for status and metrics
     * @param group the consumer group its committed offsets are reported under
     * @param admin used for partitions and group commits; owned by the caller
     */
    public TableSink(String owner, String hop, String topic, String table, ModelVersion version, String group,
                     TableSinkSettings settings, KafkaClients kafka, Admin admin, ClickHouse clickhouse,
                     MeterRegistry registry) {
        this.owner = owner;
        this.hop = hop;
        this.topic = topic;
        this.table = table;
        this.group = group;
        this.settings = settings;
        this.consumerSettings = kafka.consumer(group)
                .withProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(settings.maxPollRecords()));
        this.admin = admin;
        this.lag = new ReadableLag(kafka.settings());
        this.clickhouse = clickhouse;
        this.encoder = new RowEncoder(version, new ObjectMapper());
        Tags tags = Tags.of("owner", owner, "hop", hop, "table", table);
        this.insertTimer = Timer.builder("moose.sink.insert").tags(tags)
                .description("Duration of one INSERT of a table sink").register(registry);
        this.insertRows = DistributionSummary.builder("moose.sink.insert.rows").tags(tags)
                .description("Rows per INSERT of a table sink").register(registry);
        this.invalidRecords = Counter.builder("moose.sink.invalid.records").tags(tags)
                .description("Records a table sink skipped because they are not valid for the table's version")
                .register(registry);
    }

    /** The sink under supervision: restarts with backoff, drains on stop, reports status. */
    public SupervisedHop supervised(MeterRegistry registry) {
        return new SupervisedHop(owner, hop, settings.restart(), settings.statusInterval(), settings.stopTimeout(),
                registry, invalidRecords, () -> lag.of(admin, group, topic), this::run);
    }

    /**
     * One run: register as the sink's newest run and fence every older one off ({@link SinkFence}),
     * read the high-water mark, then consume, batch, insert through this run's ingress, commit.
     * Emits rows inserted per batch. A run that finds itself fenced fails with {@link RunFencedException}.
     */
    public Source<Integer, NotUsed> run(HopContext context) {
        long began = System.nanoTime();
        // Made (and connected) while the fence is built; it reads from where the fence lets the run start.
        PreparedConsumer consumer = PreparedConsumer.start(consumerSettings, topic);
        AtomicLong fencedAt = new AtomicLong();
        CompletionStage<SinkFence> registered = SinkFence.register(clickhouse, table, topic)
                .thenApply(fence -> {
                    fencedAt.set(System.nanoTime());
                    return fence;
                });
        CompletionStage<Source<Integer, NotUsed>> started = registered
                .thenCompose(fence -> consumer.partitions()
                        .thenCombine(TableWatermarks.highestOffsets(clickhouse, table, topic), (partitions, highest) -> {
                            long now = System.nanoTime();
                            log.info("{} {}: resuming {} -> {} above {} (run epoch {}; fenced in {} ms, high-water mark {} ms later)",
                                    owner, hop, topic, table, highest, fence.epoch(), (fencedAt.get() - began) / 1_000_000,
                                    (now - fencedAt.get()) / 1_000_000);
                            // Where the run starts is consumed as far as lag goes, also in partitions it
                            // has nothing new to read from (they would report the skipped rows as lag).
                            Map<TopicPartition, Long> start = startOffsets(partitions, highest);
                            // Reported to the group, not awaited: the group's offsets are only for Kafka
                            // tools (never read back), and the report cost a run's start a round trip or
                            // two (the coordinator look-up of a new admin client). The batches' reports
                            // follow it in order (commitGroup).
                            CompletionStage<Void> startReported = reportToGroup(start);
                            context.ready();
                            AtomicInteger unfinished = new AtomicInteger();
                            AtomicBoolean firstInsert = new AtomicBoolean(true);
                            return batches(consumer::claim, start, context, unfinished)
                                    .via(insert(context, fence))
                                    .map(inserted -> {
                                        if (inserted.rows() > 0 && firstInsert.getAndSet(false)) {
                                            log.info("{} {}: first insert of run epoch {} ({} rows), {} ms after the run began",
                                                    owner, hop, fence.epoch(), inserted.rows(), (System.nanoTime() - began) / 1_000_000);
                                        }
                                        unfinished.decrementAndGet();
                                        return inserted;
                                    })
                                    .via(commitGroup(startReported));
                        }));
        return Source.completionStageSource(started)
                .watchTermination((mat, ended) -> {
                    // However the run ends, its ingress is of no further use (a newer run would drop it too).
                    ended.whenComplete((d, e) -> consumer.closeUnclaimed());
                    ended.whenComplete((d, e) -> registered.thenCompose(SinkFence::dropOwnIngress).whenComplete((x, dropError) -> {
                        if (dropError != null) {
                            log.debug("{} {}: could not drop this run's ingress: {}", owner, hop, dropError.toString());
                        }
                    }));
                    return mat;
                })
                .mapMaterializedValue(m -> NotUsed.getInstance());
    }

    /**
     * Test hook: what a run does between deciding to insert a batch and sending the INSERT, so a
     * test can hold a run exactly there (as a frozen process or a long GC pause would).
     */
    void beforeEveryInsert(Function<EncodedBatch, CompletionStage<Void>> hook) {
        this.beforeInsert = hook;
    }

    /**
     * Every partition from {@code start} (just above the high-water mark), in batches by size and
     * linger, or sooner when caught up and {@code unfinished} (batches not yet inserted) is 0, each encoded into one INSERT body, in {@code encode-parallelism} slices at once on the stream's
     * dispatcher (JSON parsing and validation are the sink's main CPU cost). {@code consumers} gives
     * the reader its consumer when the stream starts (the run's {@link PreparedConsumer}).
     */
    Source<EncodedBatch, NotUsed> batches(Supplier<org.apache.kafka.clients.consumer.Consumer<byte[], byte[]>> consumers,
                                          Map<TopicPartition, Long> start, HopContext context, AtomicInteger unfinished) {
        PolledBatches polled = new PolledBatches(consumers, start, settings.batchSize(),
                settings.linger(), settings.pollTimeout(), settings.maxPollRecords(), unfinished, settings.minInsertInterval());
        context.controlledBy(polled);
        return polled.source()
                .via(Flow.fromMaterializer((materializer, attributes) -> Flow.<List<ConsumerRecord<byte[], byte[]>>>create()
                        .mapAsync(1, records -> encode(records, context, materializer.executionContext())))
                        // One polled batch waits here while one is encoded: memory stays a few batches.
                        .addAttributes(Attributes.inputBuffer(1, 1)))
                .mapMaterializedValue(m -> NotUsed.getInstance())
                // Encoding the next batch overlaps the current INSERT, but only one batch waits.
                .async()
                .addAttributes(Attributes.inputBuffer(1, 1));
    }

    /** Where each partition starts: one above the highest offset stored, or its beginning. */
    static Map<TopicPartition, Long> startOffsets(List<TopicPartition> partitions, Map<Integer, Long> highest) {
        Map<TopicPartition, Long> start = new HashMap<>();
        for (TopicPartition p : partitions) {
            // Offset 0 below a retention-trimmed log start resets to the earliest (auto.offset.reset).
            start.put(p, highest.getOrDefault(p.partition(), -1L) + 1);
        }
        return start;
    }

    /** One batch's body: its slices encoded in parallel, then joined in record order. */
    CompletionStage<EncodedBatch> encode(List<ConsumerRecord<byte[], byte[]>> records, HopContext context, Executor executor) {
        int slices = Math.max(1, Math.min(settings.encodeParallelism(), records.size()));
        int sliceSize = (records.size() + slices - 1) / slices;
        List<CompletableFuture<EncodedSlice>> parts = new ArrayList<>();
        for (int from = 0; from < records.size(); from += sliceSize) {
            List<ConsumerRecord<byte[], byte[]>> slice = records.subList(from, Math.min(records.size(), from + sliceSize));
            parts.add(CompletableFuture.supplyAsync(() -> encodeSlice(slice), executor));
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(done -> {
            ByteArrayOutputStream body = new ByteArrayOutputStream(parts.stream().mapToInt(p -> p.join().body().length).sum());
            int rows = 0;
            int invalid = 0;
            for (CompletableFuture<EncodedSlice> part : parts) {
                body.writeBytes(part.join().body());
                rows += part.join().rows();
                invalid += part.join().invalid();
            }
            // a poll's records come partition by partition: one key per run of the same partition
            Map<TopicPartition, Long> next = new HashMap<>();
            TopicPartition partition = null;
            for (ConsumerRecord<byte[], byte[]> r : records) {
                if (partition == null || partition.partition() != r.partition() || !partition.topic().equals(r.topic())) {
                    partition = new TopicPartition(r.topic(), r.partition());
                }
                next.put(partition, r.offset() + 1);
            }
            if (invalid > 0) {
                context.deadLettered(invalid);
            }
            return new EncodedBatch(body.toByteArray(), rows, invalid, next);
        });
    }

    private record EncodedSlice(byte[] body, int rows, int invalid) {
    }

    private EncodedSlice encodeSlice(List<ConsumerRecord<byte[], byte[]>> records) {
        ByteArrayBuilder body = new ByteArrayBuilder(records.size() * 256);
        int rows = 0;
        int invalid = 0;
        for (ConsumerRecord<byte[], byte[]> r : records) {
            try {
                encoder.encodeTabSeparatedInto(r.value() == null ? new byte[0] : r.value(), r.topic(), r.partition(), r.offset(), body);
                rows++;
            } catch (RowEncoder.InvalidRecordException e) {
                invalid++;
                log.warn("{} {}: skipping invalid record {}-{}@{}: {}", owner, hop, r.topic(), r.partition(), r.offset(),
                        e.getMessage());
            }
        }
        return new EncodedSlice(body.toByteArray(), rows, invalid);
    }

    /**
     * One INSERT per batch, one at a time, through this run's ingress. An INSERT refused because a
     * newer run dropped the ingress fences this run for good; any other failure fails the run (it
     * restarts from the high-water mark).
     */
    Flow<EncodedBatch, EncodedBatch, NotUsed> insert(HopContext context, SinkFence fence) {
        return Flow.<EncodedBatch>create().mapAsync(1, batch -> {
            if (batch.rows() == 0) {
                return CompletableFuture.completedFuture(batch);
            }
            long started = System.nanoTime();
            return beforeInsert.apply(batch)
                    .thenCompose(held -> clickhouse.insertTabSeparated(fence.ingressTable(), encoder.columnNames(), batch.body()))
                    .handle((done, error) -> error == null ? CompletableFuture.<Void>completedFuture(null) : fenceOrFail(fence, error))
                    .thenCompose(outcome -> outcome)
                    .thenApply(done -> {
                        insertTimer.record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                        insertRows.record(batch.rows());
                        context.processed(batch.rows());
                        return batch;
                    });
        });
    }

    /** A failed INSERT: fenced if a newer run dropped this run's ingress, else the INSERT's own error. */
    private CompletionStage<Void> fenceOrFail(SinkFence fence, Throwable error) {
        return fence.ingressDropped().handle((dropped, checkError) -> {
            if (Boolean.TRUE.equals(dropped)) {
                throw new RunFencedException("another sink of " + topic + " into " + table + " took over and dropped this"
                        + " run's ingress (run epoch " + fence.epoch() + "): this run ends");
            }
            throw error instanceof CompletionException c ? c : new CompletionException(error);
        });
    }

    /**
     * Reports the consumed offsets to the consumer group (lag for Kafka tools) after {@code previous}
     * (the run's start report), one report at a time so they land in order; a failed report only logs.
     */
    Flow<EncodedBatch, Integer, NotUsed> commitGroup(CompletionStage<Void> previous) {
        return Flow.<EncodedBatch>create().mapAsync(1, batch -> previous.thenCompose(reported -> reportToGroup(batch.nextOffsets()))
                .thenApply(done -> batch.rows()));
    }

    private CompletionStage<Void> reportToGroup(Map<TopicPartition, Long> nextOffsets) {
        return TopicOffsets.commit(admin, group, nextOffsets).handle((done, error) -> {
            if (error != null) {
                log.debug("{} {}: could not report offsets to group {}: {}", owner, hop, group, error.toString());
            }
            return null;
        });
    }
}
