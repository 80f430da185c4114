package io.moose.flows.migration;

import akka.Done;
import io.moose.flows.CborSerializable;
import io.moose.flows.node.NodeContext;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.RowDecoder;
import io.moose.flows.clickhouse.TabSeparatedReader;
import io.moose.flows.clickhouse.TableSchema;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.Hop;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsResult;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The I/O of a migration's (or backfill's) initial load, design section 4: the cut, the copy-in
 * start position, the wait for the source table, and chunks of table rows written into the flow's
 * input topic inside Kafka transactions. {@link MigrationActor} decides what happens when; this class
 * only does it. Blocking Kafka calls run on one thread of its own, reading the source table on another.
 */
public final class InitialLoad implements AutoCloseable {

    /**
     * Header carrying the chunk number, so a chunk committed in Kafka but not in the journal is
     * recognised. Only a chunk's first record carries it (the chunk is one transaction, so that record
     * is committed exactly when all are), and loaded records carry no other: every hop downstream
     * parses every header of every record (a per-row origin header and a chunk header on every row
     * showed in JFR samples of the load's sending thread and of the transform hop and table sink).
     */
    public static final String CHUNK_HEADER = "moose.load.chunk";

    private static final Duration POLL = Duration.ofMillis(200);
    /** Reads of the rest of the table that may end empty while rows remain before the load gives up (and retries as a step). */
    private static final int READ_ATTEMPTS = 2;
    private static final int INITIAL_CHUNK_CAPACITY = 4096;
    /** For sizing a chunk's records array when its row limit is below its byte limit (tests, small chunk-size). */
    private static final int ROW_BYTES_GUESS = 256;
    /** Room for a chunk's last record, which goes past chunk-bytes, before the array must grow. */
    private static final int LAST_RECORD_SLACK = 64 * 1024;
    private static final int PRODUCER_BATCH_BYTES = 512 * 1024;
    /** Most bytes of records the first chunk of a (re)started load holds: sending starts while the rest is read. */
    static final long FIRST_CHUNK_BYTES = 1024 * 1024;
    /** How much of an unreadable line an error quotes. */
    private static final int MAX_QUOTED_LINE = 200;

    /** Per source topic, per partition: the first offset the live path (copy-in) carries. */
    public record Cut(Map<String, Map<Integer, Long>> offsets) implements CborSerializable {
        public long total() {
            return offsets.values().stream().flatMap(p -> p.values().stream()).mapToLong(Long::longValue).sum();
        }
    }

    /** Position in the source table, in the order rows are loaded. */
    public record Cursor(String topic, int partition, long offset) implements CborSerializable {
        static final Cursor START = new Cursor("", -1, -1);

        @Override
        public String toString() {
            return topic + "/" + partition + "/" + offset;
        }
    }

    private final FlowDefinition flow;
    private final ModelVersion sourceVersion;
    private final String sourceTable;
    private final List<String> cutTopics;
    private final String inputTopic;
    private final String copyInGroup;
    private final String transactionalId;
    private final NodeContext node;
    /** Kafka's calls. */
    private final ExecutorService io;
    /** Reading and decoding the source table, beside the sending. */
    private final ExecutorService reads;
    private final Duration timeout;
    private final Duration readTimeout;
    private final long sortMemoryBeforeSpill;
    private final String producerCompression;
    private final int producerLingerMs;
    private KafkaProducer<byte[], byte[]> producer;
    private KafkaConsumer<byte[], byte[]> reader;
    /** The producer {@link #prepareSend()} is creating, until the Kafka thread takes it. */
    private volatile CompletableFuture<KafkaProducer<byte[], byte[]>> prepared;
    private final java.util.concurrent.atomic.AtomicBoolean prepareRequested = new java.util.concurrent.atomic.AtomicBoolean();
    /** Used on the reading thread only, but for {@link #close()} breaking off a read that is under way. */
    private volatile SourceRead open;

    public InitialLoad(FlowDefinition flow, NodeContext node) {
        ProjectDefinition definition = node.currentDefinition();
        this.flow = flow;
        this.node = node;
        this.sourceVersion = definition.version(flow.source()).orElseThrow();
        this.sourceTable = node.names().table(flow.source());
        this.cutTopics = definition.copyInSources(flow, node.names());
        this.inputTopic = node.names().flowInput(flow.id());
        this.copyInGroup = node.names().consumerGroup(flow.id(), Hop.COPY_IN);
        this.transactionalId = node.names().transactionalId(flow.id(), Hop.INITIAL_LOAD);
        this.timeout = node.kafka().adminTimeout();
        this.readTimeout = node.config().getDuration("moose-flows.migration.read-timeout");
        this.sortMemoryBeforeSpill = node.config().getBytes("moose-flows.migration.sort-memory-before-spill");
        this.producerCompression = node.config().getString("moose-flows.migration.producer-compression");
        this.producerLingerMs = Math.toIntExact(node.config().getDuration("moose-flows.migration.producer-linger").toMillis());
        this.io = thread("initial-load-" + flow.id());
        this.reads = thread("initial-load-read-" + flow.id());
    }

    private static ExecutorService thread(String name) {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** The last stable offsets of every topic the copy-in reads: what lies below them comes from the table. */
    public CompletionStage<Cut> takeCut() {
        return onIo(() -> {
            KafkaConsumer<byte[], byte[]> consumer = consumer();
            Map<String, Map<Integer, Long>> offsets = new TreeMap<>();
            for (String topic : cutTopics) {
                Map<TopicPartition, Long> ends = consumer.endOffsets(partitions(consumer, topic), timeout);
                Map<Integer, Long> byPartition = new TreeMap<>();
                ends.forEach((tp, end) -> byPartition.put(tp.partition(), end));
                offsets.put(topic, byPartition);
            }
            return new Cut(offsets);
        });
    }

    /** Makes the copy-in start exactly at the cut, unless it already has a position of its own. */
    public CompletionStage<Done> positionCopyIn(Cut cut) {
        return onIo(() -> {
            try (Admin admin = Admin.create(node.kafka().commonClientProperties())) {
                ListConsumerGroupOffsetsResult existing = admin.listConsumerGroupOffsets(copyInGroup);
                Map<TopicPartition, OffsetAndMetadata> committed = existing.partitionsToOffsetAndMetadata()
                        .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                if (committed.isEmpty()) {
                    Map<TopicPartition, OffsetAndMetadata> start = new HashMap<>();
                    cut.offsets().forEach((topic, parts) -> parts.forEach((p, offset) ->
                            start.put(new TopicPartition(topic, p), new OffsetAndMetadata(offset, "cut"))));
                    admin.alterConsumerGroupOffsets(copyInGroup, start).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                }
                return Done.getInstance();
            }
        });
    }

    /**
     * True once every committed record below the cut is in the source table: after the table's
     * highest stored offset of each partition, no data record remains below the cut (transaction
     * markers and aborted records occupy offsets but never reach a table, so offsets alone can't tell).
     */
    public CompletionStage<Boolean> sourceCaughtUp(Cut cut) {
        return node.clickhouse().query("SELECT " + TableSchema.SOURCE_TOPIC + ", " + TableSchema.SOURCE_PARTITION
                        + ", max(" + TableSchema.SOURCE_OFFSET + ") FROM " + node.clickhouse().qualified(sourceTable)
                        + " GROUP BY " + TableSchema.SOURCE_TOPIC + ", " + TableSchema.SOURCE_PARTITION)
                .thenComposeAsync(rows -> {
                    Map<TopicPartition, Long> stored = new HashMap<>();
                    rows.forEach(r -> stored.put(new TopicPartition(r.get(0), Integer.parseInt(r.get(1))), Long.parseLong(r.get(2))));
                    return onIo(() -> {
                        KafkaConsumer<byte[], byte[]> consumer = consumer();
                        for (var topic : cut.offsets().entrySet()) {
                            for (var part : topic.getValue().entrySet()) {
                                TopicPartition tp = new TopicPartition(topic.getKey(), part.getKey());
                                long from = stored.getOrDefault(tp, -1L) + 1;
                                if (from < part.getValue() && hasCommittedRecord(consumer, tp, from, part.getValue())) {
                                    return false;
                                }
                            }
                        }
                        return true;
                    });
                }, io);
    }

    public CompletionStage<Long> countRows(Cut cut) {
        return count(belowCut(cut));
    }

    private CompletionStage<Long> count(String where) {
        return node.clickhouse().query("SELECT count() FROM " + node.clickhouse().qualified(sourceTable) + " WHERE " + where)
                .thenApply(rows -> Long.parseLong(rows.get(0).get(0)));
    }

    /** {@link #readChunk(Cut, Cursor, int, long)} with no bound on the bytes. */
    public CompletionStage<Chunk> readChunk(Cut cut, Cursor after, int limit) {
        return readChunk(cut, after, limit, Long.MAX_VALUE);
    }

    /**
     * The next rows after {@code after}, in coordinate order: at most {@code limit}, and no more once
     * their records reach {@code maxBytes}. They come from one read of the whole rest of the table,
     * kept open from chunk to chunk: a query per chunk (ORDER BY ... LIMIT) made ClickHouse scan and
     * sort the rest of the table for every chunk, a load quadratic in the table's size (2.6 s per
     * chunk at 10M rows, 2026-12-01). The read is opened again from the cursor when it is not where
     * the cursor is (first chunk, a resend, a new node after a crash) or broke off. Empty only when
     * the table has nothing left after the cursor, counted: a broken-off response can end like a
     * complete one. Runs on the load's reading thread, so the next chunk can be read while the
     * current one is sent.
     */
    public CompletionStage<Chunk> readChunk(Cut cut, Cursor after, int limit, long maxBytes) {
        return on(reads, () -> {
            for (int attempt = 1; ; attempt++) {
                if (open == null || !open.position.equals(after)) {
                    closeRead();
                    open = new SourceRead(node.clickhouse().streamTabSeparated(selectRows(belowCut(cut) + " AND " + after(after)),
                            Map.of("max_bytes_before_external_sort", Long.toString(sortMemoryBeforeSpill),
                                    "send_timeout", Long.toString(Math.max(1, readTimeout.toSeconds()))),
                            readTimeout), after);
                }
                // sized for a full chunk and its last record, which may go past maxBytes
                Chunk.Builder rows = new Chunk.Builder(Math.min(limit, INITIAL_CHUNK_CAPACITY),
                        Math.min(maxBytes, (long) limit * ROW_BYTES_GUESS) + LAST_RECORD_SLACK);
                try {
                    while (rows.size() < limit && rows.bytes() < maxBytes && open.stream.rows().next() >= 0) {
                        open.rows.add(open.stream.rows(), rows);
                    }
                } catch (java.io.IOException | RuntimeException e) {
                    // nothing of this chunk was handed out: the next attempt starts from the same cursor
                    closeRead();
                    throw e;
                }
                Chunk chunk = rows.build();
                if (rows.size() == limit || rows.bytes() >= maxBytes) {
                    open.position = chunk.last();
                    return chunk;
                }
                closeRead();
                if (!chunk.isEmpty()) {
                    return chunk;
                }
                long left = remainingRows(cut, after);
                if (left == 0) {
                    return Chunk.EMPTY;
                }
                if (attempt >= READ_ATTEMPTS) {
                    throw new IllegalStateException(left + " rows of " + sourceTable + " remain after " + after
                            + " but reading them returned none " + attempt + " times");
                }
            }
        });
    }

    private long remainingRows(Cut cut, Cursor after) throws Exception {
        return count(belowCut(cut) + " AND " + after(after)).toCompletableFuture().get(readTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Exactly the rows of a chunk started before a crash: the rows below the cut never change. */
    public CompletionStage<Chunk> rereadChunk(Cut cut, Cursor after, Cursor last) {
        return on(reads, () -> {
            Chunk.Builder rows = new Chunk.Builder(INITIAL_CHUNK_CAPACITY, INITIAL_CHUNK_CAPACITY * ROW_BYTES_GUESS);
            SourceRows decoder = new SourceRows();
            try (ClickHouse.TabSeparatedStream stream = node.clickhouse().streamTabSeparated(
                    selectRows(belowCut(cut) + " AND " + after(after) + " AND " + upTo(last)), Map.of(), readTimeout)) {
                while (stream.rows().next() >= 0) {
                    decoder.add(stream.rows(), rows);
                }
            }
            return rows.build();
        });
    }

    /**
     * Creates the load's transactional producer (initTransactions: finding the coordinator, fencing
     * an earlier run) while the migration still waits for the source table, so the first chunk's
     * send does not pay for it. Best effort: a failure here is met again, and reported, by the send.
     */
    public CompletionStage<Done> prepareSend() {
        CompletableFuture<KafkaProducer<byte[], byte[]>> created = new CompletableFuture<>();
        if (!prepareRequested.compareAndSet(false, true)) {
            // once per load: a second producer with the same transactional id would fence the first
            return CompletableFuture.completedFuture(Done.getInstance());
        }
        prepared = created;
        // on the reading thread, idle until the load starts: the load's Kafka thread stays free for
        // the wait for the source table
        reads.execute(() -> {
            try {
                created.complete(createProducer());
            } catch (Throwable e) {
                // the first send creates it again and fails, retried as a step, if Kafka still refuses
                created.completeExceptionally(e);
            }
        });
        return created.handle((p, e) -> Done.getInstance());
    }

    /** High watermarks of the input topic: a chunk sent after this point lies above them. */
    public CompletionStage<Map<Integer, Long>> inputEndOffsets() {
        return onIo(() -> {
            KafkaConsumer<byte[], byte[]> consumer = consumer();
            Map<Integer, Long> ends = new TreeMap<>();
            consumer.endOffsets(partitions(consumer, inputTopic), timeout).forEach((tp, end) -> ends.put(tp.partition(), end));
            return ends;
        });
    }

    /**
     * Writes one chunk into the flow's input topic as one Kafka transaction. Answers, per partition
     * the chunk wrote to, the offset after its last record: every record sent later lies at or
     * above it (what {@link #inputEndOffsets()} would answer, without asking the broker).
     */
    public CompletionStage<Map<Integer, Long>> send(long chunkNo, Chunk chunk) {
        return onIo(() -> {
            KafkaProducer<byte[], byte[]> p = producer();
            byte[] chunkId = Long.toString(chunkNo).getBytes(StandardCharsets.UTF_8);
            Map<Integer, Long> ends = new java.util.concurrent.ConcurrentHashMap<>();
            try {
                p.beginTransaction();
                for (int i = 0; i < chunk.size(); i++) {
                    // the array lives only until send returns (the producer copies it into its batch)
                    ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(inputTopic, null, chunk.value(i));
                    if (i == 0) {
                        // the chunk's records are committed all together or not at all: one mark tells
                        record.headers().add(CHUNK_HEADER, chunkId);
                    }
                    p.send(record, (meta, error) -> {
                        if (error == null) {
                            ends.merge(meta.partition(), meta.offset() + 1, Math::max);
                        }
                    });
                }
                p.commitTransaction();
                return new TreeMap<>(ends);
            } catch (RuntimeException e) {
                closeProducer();
                throw e;
            }
        });
    }

    /**
     * Whether a chunk started before a crash was committed in Kafka. Initialising the producer first
     * fences any zombie still holding the transaction, so the answer cannot change afterwards.
     */
    public CompletionStage<Boolean> chunkCommitted(long chunkNo, Map<Integer, Long> inputEndsBefore) {
        return onIo(() -> {
            producer();
            byte[] chunkId = Long.toString(chunkNo).getBytes(StandardCharsets.UTF_8);
            KafkaConsumer<byte[], byte[]> consumer = consumer();
            List<TopicPartition> parts = partitions(consumer, inputTopic);
            Map<TopicPartition, Long> ends = consumer.endOffsets(parts, timeout);
            for (TopicPartition tp : parts) {
                long from = inputEndsBefore.getOrDefault(tp.partition(), 0L);
                if (scan(consumer, tp, from, ends.get(tp), r -> {
                    Header h = r.headers().lastHeader(CHUNK_HEADER);
                    return h != null && java.util.Arrays.equals(h.value(), chunkId);
                })) {
                    return true;
                }
            }
            return false;
        });
    }

    private String selectRows(String where) {
        List<String> columns = new ArrayList<>(sourceVersion.columns().stream().map(c -> ClickHouse.quote(c.name())).toList());
        columns.add(TableSchema.SOURCE_TOPIC);
        columns.add(TableSchema.SOURCE_PARTITION);
        columns.add(TableSchema.SOURCE_OFFSET);
        return "SELECT " + String.join(", ", columns) + " FROM " + node.clickhouse().qualified(sourceTable)
                + " WHERE " + where
                + " ORDER BY " + TableSchema.SOURCE_TOPIC + ", " + TableSchema.SOURCE_PARTITION + ", " + TableSchema.SOURCE_OFFSET;
    }

    /**
     * Rows of the source table (the model's columns, then its source coordinates) as records to
     * load; anything else (an error text ClickHouse wrote into the body) throws. One per read.
     */
    private final class SourceRows {
        private final RowDecoder decoder = new RowDecoder(sourceVersion);
        private String topic = "";

        /** Adds the reader's current row to {@code into}. */
        void add(TabSeparatedReader in, Chunk.Builder into) {
            int columns = decoder.columns();
            try {
                if (in.fields() != columns + 3) {
                    throw new IllegalArgumentException(in.fields() + " fields, not " + (columns + 3));
                }
                String rowTopic = in.text(columns);
                if (!rowTopic.equals(topic)) {
                    topic = rowTopic;
                }
                int partition = Math.toIntExact(in.longField(columns + 1));
                long offset = in.longField(columns + 2);
                int length = decoder.encode(in); // first: encoding may replace the decoder's buffer
                into.add(decoder.encoded(), length, topic, partition, offset);
            } catch (RuntimeException e) {
                throw new IllegalStateException("not a row of " + sourceTable + " (" + e.getMessage() + "): " + abbreviate(in.rawRow()), e);
            }
        }
    }

    private static String abbreviate(String line) {
        return line.length() <= MAX_QUOTED_LINE ? line : line.substring(0, MAX_QUOTED_LINE) + "...";
    }

    private void closeRead() {
        if (open != null) {
            open.stream.close();
            open = null;
        }
    }

    /** The open read of the rest of the source table, and the cursor its next line follows. */
    private final class SourceRead {
        final ClickHouse.TabSeparatedStream stream;
        final SourceRows rows = new SourceRows();
        Cursor position;

        SourceRead(ClickHouse.TabSeparatedStream stream, Cursor position) {
            this.stream = stream;
            this.position = position;
        }
    }

    /**
     * Rows the load carries. From a topic the copy-in reads: those below its cut. From anywhere else
     * (a bulk import, an older path): all of them for a migration, which must rebuild the whole
     * table; none for a backfill, whose target gets migrated rows through its own migration.
     */
    String belowCut(Cut cut) {
        List<String> fromCutTopics = new ArrayList<>();
        cut.offsets().forEach((topic, parts) -> {
            String partitions = parts.entrySet().stream()
                    .filter(e -> e.getValue() > 0)
                    .map(e -> "(" + TableSchema.SOURCE_PARTITION + " = " + e.getKey() + " AND " + TableSchema.SOURCE_OFFSET + " < " + e.getValue() + ")")
                    .collect(Collectors.joining(" OR "));
            if (!partitions.isEmpty()) {
                fromCutTopics.add("(" + TableSchema.SOURCE_TOPIC + " = " + ClickHouse.literal(topic) + " AND (" + partitions + "))");
            }
        });
        String below = fromCutTopics.isEmpty() ? "0" : String.join(" OR ", fromCutTopics);
        if (!flow.isMigration()) {
            return "(" + below + ")";
        }
        String otherOrigins = TableSchema.SOURCE_TOPIC + " NOT IN (" + cut.offsets().keySet().stream()
                .map(ClickHouse::literal).collect(Collectors.joining(", ")) + ")";
        return "((" + below + ") OR " + otherOrigins + ")";
    }

    static String after(Cursor c) {
        String t = TableSchema.SOURCE_TOPIC;
        String p = TableSchema.SOURCE_PARTITION;
        String o = TableSchema.SOURCE_OFFSET;
        String topic = ClickHouse.literal(c.topic());
        return "(" + t + " > " + topic + " OR (" + t + " = " + topic + " AND (" + p + " > " + c.partition()
                + " OR (" + p + " = " + c.partition() + " AND " + o + " > " + c.offset() + "))))";
    }

    static String upTo(Cursor c) {
        String t = TableSchema.SOURCE_TOPIC;
        String p = TableSchema.SOURCE_PARTITION;
        String o = TableSchema.SOURCE_OFFSET;
        String topic = ClickHouse.literal(c.topic());
        return "(" + t + " < " + topic + " OR (" + t + " = " + topic + " AND (" + p + " < " + c.partition()
                + " OR (" + p + " = " + c.partition() + " AND " + o + " <= " + c.offset() + "))))";
    }

    private boolean hasCommittedRecord(KafkaConsumer<byte[], byte[]> consumer, TopicPartition tp, long from, long to) {
        return scan(consumer, tp, from, to, r -> true);
    }

    /** Reads [from, to) of one partition at read_committed; true as soon as a record matches. */
    private boolean scan(KafkaConsumer<byte[], byte[]> consumer, TopicPartition tp, long from, long to,
                         java.util.function.Predicate<ConsumerRecord<byte[], byte[]>> match) {
        if (from >= to) {
            return false;
        }
        consumer.assign(List.of(tp));
        consumer.seek(tp, from);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (consumer.position(tp) < to) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL).records(tp)) {
                if (r.offset() < to && match.test(r)) {
                    return true;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out reading " + tp + " from " + from + " to " + to);
            }
        }
        return false;
    }

    private List<TopicPartition> partitions(KafkaConsumer<byte[], byte[]> consumer, String topic) {
        List<PartitionInfo> infos = consumer.partitionsFor(topic, timeout);
        if (infos == null || infos.isEmpty()) {
            throw new IllegalStateException("topic " + topic + " does not exist");
        }
        return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
    }

    /** One read_committed consumer per load, reused by every call (all run on the load's own thread). */
    private KafkaConsumer<byte[], byte[]> consumer() {
        if (reader != null) {
            return reader;
        }
        Map<String, Object> props = node.kafka().commonClientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        reader = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        return reader;
    }

    private KafkaProducer<byte[], byte[]> producer() {
        CompletableFuture<KafkaProducer<byte[], byte[]>> early = prepared;
        if (producer == null && early != null) {
            prepared = null;
            try {
                producer = early.join();
            } catch (java.util.concurrent.CompletionException | java.util.concurrent.CancellationException e) {
                // created below instead
            }
        }
        if (producer == null) {
            producer = createProducer();
        }
        return producer;
    }

    private KafkaProducer<byte[], byte[]> createProducer() {
        Map<String, Object> props = node.kafka().commonClientProperties();
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        // A chunk is sent in one burst and committed at once: big batches (linger and compression:
        // migration.producer-linger, migration.producer-compression)
        props.put(ProducerConfig.BATCH_SIZE_CONFIG, PRODUCER_BATCH_BYTES);
        props.put(ProducerConfig.LINGER_MS_CONFIG, producerLingerMs);
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, producerCompression);
        KafkaProducer<byte[], byte[]> created = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
        try {
            created.initTransactions();
        } catch (RuntimeException e) {
            // not kept half-initialised: the next call starts again
            created.close(Duration.ZERO);
            throw e;
        }
        return created;
    }

    private void closeProducer() {
        if (producer != null) {
            producer.close(Duration.ZERO);
            producer = null;
        }
    }

    private <T> CompletionStage<T> onIo(java.util.concurrent.Callable<T> work) {
        return on(io, work);
    }

    private static <T> CompletionStage<T> on(ExecutorService thread, java.util.concurrent.Callable<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        thread.execute(() -> {
            try {
                result.complete(work.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    @Override
    public void close() {
        SourceRead underWay = open;
        if (underWay != null) {
            // a read waiting for ClickHouse (its sort can take minutes) ends now, not at its timeout
            underWay.stream.close();
        }
        reads.execute(this::closeRead);
        reads.shutdown();
        io.execute(() -> {
            CompletableFuture<KafkaProducer<byte[], byte[]>> early = prepared;
            if (early != null) {
                prepared = null;
                early.thenAccept(p -> p.close(Duration.ZERO));
            }
            closeProducer();
            if (reader != null) {
                reader.close(Duration.ZERO);
                reader = null;
            }
        });
        io.shutdown();
    }

    Collection<String> cutTopics() {
        return cutTopics;
    }
}
