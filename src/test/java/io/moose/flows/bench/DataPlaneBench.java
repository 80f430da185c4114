package io.moose.flows.bench;

import akka.kafka.javadsl.Consumer;
import akka.stream.javadsl.Sink;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.clickhouse.TableSchema;
import io.moose.flows.example.ParseActivity;
import io.moose.flows.flow.FlowHops;
import io.moose.flows.flow.TransformStep;
import io.moose.flows.flow.Transforms;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.hop.HopContext;
import io.moose.flows.kafka.KafkaClients;
import io.moose.flows.model.VersionRef;
import io.moose.flows.sync.RowEncoder;
import io.moose.flows.sync.TableSyncRunner;
import io.moose.flows.testing.DataPlaneFixture;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.moose.flows.testing.DataPlaneFixture.PA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.PA_0_1;
import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.join;

/**
 * Throughput of each hop beside its ceiling, measured in the same run on the same services, and
 * end-to-end latency at a steady rate. Run by {@code ops/bench}; not a test. It lives with the
 * tests because it reuses their fixture (real services, isolated names) and must not ship in the
 * service jar.
 *
 * <p>Rates are measured from the first record a hop moves to the last, so consumer-group joins
 * and stream start-up do not count against either side.
 */
public final class DataPlaneBench {

    private static final int RECORDS = Integer.getInteger("bench.records", 1_000_000);
    private static final int LATENCY_RATE = Integer.getInteger("bench.latency.rate", 2_000);
    private static final Duration LATENCY_RUN = Duration.ofSeconds(Integer.getInteger("bench.latency.seconds", 15));
    private static final Duration HOP_TIMEOUT = Duration.ofMinutes(2);
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 5);
    /**
     * Rounds run first and not counted: each side's first run is JIT-cold and would weigh on whichever
     * side happens to go first (a cold plain copy measured 150,000 rec/s, warm 400,000-700,000), and
     * the JIT's C2 thread took 30-45% of a core for the first ~45 s of a run (2 warm-up rounds),
     * competing with whatever was being measured.
     */
    private static final int WARMUP_ROUNDS = Integer.getInteger("bench.warmup-rounds", 2);
    /**
     * Which measurements run: any of hops (copy and transform beside their ceiling), copy or transform
     * (one of them beside the ceiling), sink, latency.
     */
    private static final Set<String> PARTS = Set.of(System.getProperty("bench.parts", "hops,sink,latency").split(","));
    private static final boolean COPY = PARTS.contains("hops") || PARTS.contains("copy");
    private static final boolean TRANSFORM = PARTS.contains("hops") || PARTS.contains("transform");
    /** The tree and the typed transform of UserActivity -> ParsedActivity/0.1, side by side (issue 13). */
    private static final boolean TYPED = PARTS.contains("typed");
    private static final CpuUse CPU = new CpuUse(System.getProperty("bench.broker-pid"));
    private static final String DEFAULTS = "moose-flows.sync { batch-size = 50000, linger = 1s }";

    public static void main(String[] args) {
        BenchMain.exitWith(() -> run());
    }

    private static void run() throws Exception {
        String tuning = System.getProperty("bench.config", "");
        List<String> rows = new ArrayList<>();
        List<String> cpuRows = new ArrayList<>();
        try (DataPlaneFixture dp = new DataPlaneFixture(DEFAULTS + "\n" + tuning)) {
            dp.provision();
            String source = dp.names.ingestionTopic(UA_0_0);
            // Every round's topics now: a topic created just before a plain idempotent producer writes
            // to it can send before its leader is known, then retry for minutes (OUT_OF_ORDER_SEQUENCE).
            Set<String> topics = new HashSet<>();
            for (int round = 1; round <= WARMUP_ROUNDS + ROUNDS; round++) {
                for (String suffix : List.of("_ceiling", "_copy", "_transformed", "_dlq", "_tree", "_typed")) {
                    topics.add(source + suffix + "_r" + round);
                }
            }
            dp.createTopics(topics);
            System.out.println("producing " + RECORDS + " records");
            produce(dp, source, RECORDS);

            // The sink's ceilings need the rows pre-encoded. Only the encoded bytes stay: a million
            // ConsumerRecords kept alive had G1 marking them concurrently (up to half a core) while the
            // allocation-heavy hops ran, a cost the plain copy, allocating little, did not pay.
            List<byte[]> batches = List.of();
            List<byte[]> tsvBatches = List.of();
            int sinkRows = 0;
            if (PARTS.contains("sink")) {
                List<ConsumerRecord<byte[], byte[]>> records = dp.readAll(source, RECORDS, HOP_TIMEOUT);
                batches = encodedBatches(dp, records, false);
                tsvBatches = encodedBatches(dp, records, true);
                sinkRows = records.size();
            }
            Map<String, List<Double>> measured = new java.util.LinkedHashMap<>();
            Map<String, List<CpuUse.Reading>> cpuMeasured = new java.util.LinkedHashMap<>();
            for (int round = 1 - WARMUP_ROUNDS; round <= ROUNDS; round++) {
                System.out.println(round < 1 ? "warm-up round" : "round " + round + " of " + ROUNDS);
                String r = "_r" + (round + WARMUP_ROUNDS);
                Map<String, List<Double>> rates = round < 1 ? new java.util.LinkedHashMap<>() : measured;
                Map<String, List<CpuUse.Reading>> cpu = round < 1 ? new java.util.LinkedHashMap<>() : cpuMeasured;
                if (COPY || TRANSFORM || TYPED) {
                    measure("ceiling", () -> plainCopy(dp, source, source + "_ceiling" + r), rates, cpu);
                }
                if (COPY) {
                    measure("copy", () -> copyHop(dp, source, source + "_copy" + r, r), rates, cpu);
                }
                if (TRANSFORM) {
                    measure("transform", () -> transformHop(dp, source, source + "_transformed" + r, source + "_dlq" + r, r), rates, cpu);
                }
                if (TYPED) {
                    measure("tree", () -> flowTransformHop(dp, "io.moose.flows.example.ParseActivityWithPage", source,
                            source + "_tree" + r, source + "_dlq" + r, r + "_tree"), rates, cpu);
                    measure("typed", () -> flowTransformHop(dp, "io.moose.flows.example.ParseActivityRecords", source,
                            source + "_typed" + r, source + "_dlq" + r, r + "_typed"), rates, cpu);
                }
                if (PARTS.contains("sink")) {
                    rates.computeIfAbsent("client", k -> new ArrayList<>()).add(clickhouseClientInsert(dp, batches, sinkRows, r));
                    rates.computeIfAbsent("http", k -> new ArrayList<>()).add(httpInsert(dp, tsvBatches, sinkRows, r));
                    rates.computeIfAbsent("sink", k -> new ArrayList<>()).add(tableSync(dp));
                }
            }
            Map<String, List<Double>> rates = measured;
            System.out.println("per round (rec/s): " + rates);
            cpuMeasured.forEach((side, readings) -> System.out.println("per round, CPU s per 1M records (" + side + "): " + readings));
            if (COPY) {
                cpuRows.add(cpuRow("copy hop", cpuMeasured.get("copy"), cpuMeasured.get("ceiling")));
            }
            if (TRANSFORM) {
                cpuRows.add(cpuRow("transform hop", cpuMeasured.get("transform"), cpuMeasured.get("ceiling")));
            }
            if (TYPED) {
                cpuRows.add(cpuRow("tree transform hop (ParseActivityWithPage)", cpuMeasured.get("tree"), cpuMeasured.get("ceiling")));
                cpuRows.add(cpuRow("typed transform hop (ParseActivityRecords)", cpuMeasured.get("typed"), cpuMeasured.get("ceiling")));
                cpuRows.add(cpuRow("typed vs tree transform hop (ceiling column: tree)", cpuMeasured.get("typed"), cpuMeasured.get("tree")));
            }
            if (COPY) {
                rows.add(row("copy hop (transactional) vs plain consume-produce", rates.get("copy"), rates.get("ceiling"), 0.8));
            }
            if (TRANSFORM) {
                rows.add(row("transform hop (ParseActivity, transactional) vs plain consume-produce", rates.get("transform"), rates.get("ceiling"), 0.6));
            }
            if (TYPED) {
                rows.add(row("tree transform hop (ParseActivityWithPage -> ParsedActivity/0.1) vs plain consume-produce",
                        rates.get("tree"), rates.get("ceiling"), 0));
                rows.add(row("typed transform hop (ParseActivityRecords: bytes bound straight into records) vs plain consume-produce",
                        rates.get("typed"), rates.get("ceiling"), 0));
                rows.add(row("typed transform hop vs tree transform hop (ceiling column: tree)", rates.get("typed"), rates.get("tree"), 0));
            }
            if (PARTS.contains("sink")) {
                String sink = "table sync (TabSeparated, batches of " + dp.sinkSettings.batchSize() + ")";
                rows.add(row(sink + " vs clickhouse-client JSONEachRow", rates.get("sink"), rates.get("client"), 0.8));
                rows.add(row(sink + " vs HTTP INSERT of the same rows pre-encoded as TabSeparated (no Kafka, no encoding)", rates.get("sink"), rates.get("http"), 0));
            }
        }
        String latency = "";
        if (PARTS.contains("latency")) {
            try (DataPlaneFixture dp = new DataPlaneFixture(DEFAULTS + "\n" + tuning)) {
                dp.provision();
                latency = latency(dp);
            }
        }
        System.out.println();
        System.out.printf("Hops: %,d records, median of %d rounds after %d warm-up round(s) (each round measures both sides back to back); ratio = median of the per-round ratios.%n%n", RECORDS, ROUNDS, WARMUP_ROUNDS);
        System.out.println("| measure | moose-flows | ceiling | ratio | target |");
        System.out.println("|---|---:|---:|---:|---:|");
        rows.forEach(System.out::println);
        System.out.println();
        if (!cpuRows.isEmpty()) {
            System.out.printf("CPU seconds per 1,000,000 records, each side's whole run (start and stop included), median of the rounds: this JVM"
                    + " without its JIT compiler threads%s. The CPU ratio is the rate ratio a machine with no other load and no spare"
                    + " core would give; the rate ratio is higher while cores are spare and lower while neighbours take them.%n%n",
                    CPU.countsBroker() ? ", plus the Kafka broker" : " (the broker's PID was not given: -Dbench.broker-pid)");
            System.out.println("| measure | moose-flows CPU | ceiling CPU | CPU ratio (ceiling / moose-flows) |");
            System.out.println("|---|---:|---:|---:|");
            cpuRows.forEach(System.out::println);
            System.out.println();
        }
        System.out.println(latency);
        System.exit(0);
    }

    /** One side of a hop row: its rate, and the CPU it spent per million records. */
    private static void measure(String side, java.util.function.DoubleSupplier run, Map<String, List<Double>> rates,
                                Map<String, List<CpuUse.Reading>> cpu) {
        CpuUse.Reading before = CPU.now();
        rates.computeIfAbsent(side, k -> new ArrayList<>()).add(run.getAsDouble());
        cpu.computeIfAbsent(side, k -> new ArrayList<>()).add(CPU.now().perMillionSince(before, RECORDS));
    }

    /** Medians of the rounds, as for the rates. */
    private static String cpuRow(String what, List<CpuUse.Reading> side, List<CpuUse.Reading> ceiling) {
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < side.size(); i++) {
            ratios.add(ceiling.get(i).total() / side.get(i).total());
        }
        return String.format("| %s | %s | %s | %.2fx |", what, cpu(side), cpu(ceiling), median(ratios));
    }

    private static String cpu(List<CpuUse.Reading> readings) {
        double jvm = median(readings.stream().map(CpuUse.Reading::jvm).toList());
        double broker = median(readings.stream().map(CpuUse.Reading::broker).toList());
        double total = median(readings.stream().map(CpuUse.Reading::total).toList());
        return CPU.countsBroker() ? String.format("%.2f s (JVM %.2f + broker %.2f)", total, jvm, broker) : String.format("%.2f s (JVM)", jvm);
    }

    /** Medians of the rounds; the ratio is the median of the per-round ratios (each measured side by side). */
    private static String row(String what, List<Double> values, List<Double> ceilings, double target) {
        List<Double> ratios = new ArrayList<>();
        for (int i = 0; i < values.size(); i++) {
            ratios.add(values.get(i) / ceilings.get(i));
        }
        return row(what, median(values), median(ceilings), median(ratios), target);
    }

    static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        sorted.sort(null);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** A report row; {@code target} 0 = none set. */
    static String row(String what, double value, double ceiling, double target) {
        return row(what, value, ceiling, value / ceiling, target);
    }

    private static String row(String what, double value, double ceiling, double ratio, double target) {
        if (target == 0) {
            return String.format("| %s | %,.0f rec/s | %,.0f rec/s | %.2fx | - |", what, value, ceiling, ratio);
        }
        return String.format("| %s | %,.0f rec/s | %,.0f rec/s | %.2fx | >= %.1fx %s |", what, value, ceiling, ratio, target,
                ratio >= target ? "ok" : "MISSED");
    }

    private static void produce(DataPlaneFixture dp, String topic, int count) {
        List<ProducerRecord<byte[], byte[]>> batch = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            batch.add(new ProducerRecord<>(topic, DataPlaneFixture.userActivity(UA_0_0, i)));
            if (batch.size() == 10_000) {
                dp.produce(topic, batch);
                batch.clear();
            }
        }
        dp.produce(topic, batch);
    }

    /** The ceiling: one consumer and one idempotent producer in a loop on one thread, no transactions. */
    private static double plainCopy(DataPlaneFixture dp, String from, String to) {
        Properties c = new Properties();
        c.putAll(dp.kafka.commonClientProperties());
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(dp.flowSettings.maxPollRecords()));
        Properties p = new Properties();
        p.putAll(dp.kafka.commonClientProperties());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, String.valueOf(dp.flowSettings.producerLinger().toMillis()));
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(dp.flowSettings.producerBatchSize()));
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(from).stream().map(i -> new TopicPartition(from, i.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            // The target's metadata before the clock starts, as a hop's producer has it before its first commit.
            producer.partitionsFor(to);
            // Measured like a hop, whose first report comes one commit interval after its first record
            // and whose rate counts from there: the start-up ramp weighs on neither side.
            long rampNanos = dp.flowSettings.commitInterval().toNanos();
            long copied = 0;
            long first = 0;
            long windowStart = 0;
            long countedFrom = 0;
            while (copied < RECORDS) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    long now = System.nanoTime();
                    if (first == 0) {
                        first = now;
                    }
                    if (windowStart == 0 && now - first >= rampNanos) {
                        windowStart = now;
                        countedFrom = copied;
                    }
                    producer.send(new ProducerRecord<>(to, null, r.timestamp(), r.key(), r.value(), r.headers()));
                    copied++;
                }
            }
            producer.flush();
            if (windowStart == 0) {
                throw new IllegalStateException(tooFewRecords("the plain copy"));
            }
            return rate(RECORDS - countedFrom, windowStart, System.nanoTime());
        }
    }

    private static double copyHop(DataPlaneFixture dp, String from, String to, String round) {
        FlowHops hops = new FlowHops(dp.flowSettings, new KafkaClients(dp.system, dp.kafka), dp.system.executionContext());
        Probe probe = new Probe();
        String id = dp.names.consumerGroup("bench", io.moose.flows.model.Hop.COPY_IN) + round;
        var done = hops.copy(id, id, from, to, probe).runWith(Sink.ignore(), dp.system);
        double r = probe.awaitRate(RECORDS);
        join(probe.control.stop());
        join(done);
        return r;
    }

    private static double transformHop(DataPlaneFixture dp, String from, String to, String dlq, String round) {
        FlowHops hops = new FlowHops(dp.flowSettings, new KafkaClients(dp.system, dp.kafka), dp.system.executionContext());
        Probe probe = new Probe();
        String id = dp.names.consumerGroup("bench", io.moose.flows.model.Hop.TRANSFORM) + round;
        var done = hops.transform(id, id, from, () -> new TransformStep("bench", new ParseActivity(), dp.version(PA_0_0), to, dlq,
                new ObjectMapper()), probe).runWith(Sink.ignore(), dp.system);
        double r = probe.awaitRate(RECORDS);
        join(probe.control.stop());
        join(done);
        return r;
    }

    /** A transform hop running the flow UserActivity/0.0 -> ParsedActivity/0.1 with {@code transformClass}, as a node creates it. */
    private static double flowTransformHop(DataPlaneFixture dp, String transformClass, String from, String to, String dlq, String round) {
        FlowHops hops = new FlowHops(dp.flowSettings, new KafkaClients(dp.system, dp.kafka), dp.system.executionContext());
        Probe probe = new Probe();
        String id = dp.names.consumerGroup("bench", io.moose.flows.model.Hop.TRANSFORM) + round;
        FlowDefinition flow = new FlowDefinition(UA_0_0, PA_0_1, java.util.Optional.of(transformClass), false);
        Transforms transforms = Transforms.classPathOnly();
        var done = hops.transform(id, id, from, () -> new TransformStep("bench", transforms.create(flow, dp.version(UA_0_0),
                dp.version(PA_0_1)), dp.version(PA_0_1), to, dlq, new ObjectMapper()), probe).runWith(Sink.ignore(), dp.system);
        double r = probe.awaitRate(RECORDS);
        join(probe.control.stop());
        join(done);
        return r;
    }

    /**
     * The rows the table sync writes (coordinates included), encoded once, in its batch size: as
     * TabSeparated (what the sink sends) or as JSONEachRow (what the clickhouse-client ceiling reads).
     */
    private static List<byte[]> encodedBatches(DataPlaneFixture dp, List<ConsumerRecord<byte[], byte[]>> records, boolean tabSeparated)
            throws Exception {
        RowEncoder encoder = new RowEncoder(dp.version(UA_0_0), new ObjectMapper());
        List<byte[]> batches = new ArrayList<>();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int rows = 0;
        for (ConsumerRecord<byte[], byte[]> r : records) {
            body.writeBytes(tabSeparated ? encoder.encodeTabSeparated(r.value(), r.topic(), r.partition(), r.offset())
                    : encoder.encode(r.value(), r.topic(), r.partition(), r.offset()));
            if (++rows % dp.sinkSettings.batchSize() == 0) {
                batches.add(body.toByteArray());
                body.reset();
            }
        }
        if (body.size() > 0) {
            batches.add(body.toByteArray());
        }
        return batches;
    }

    /** The ceiling: the same rows through clickhouse-client's native protocol (it parses JSONEachRow itself). */
    private static double clickhouseClientInsert(DataPlaneFixture dp, List<byte[]> batches, int rows, String round) throws Exception {
        Path file = Files.createTempFile("bench-rows", ".json");
        for (byte[] batch : batches) {
            Files.write(file, batch, java.nio.file.StandardOpenOption.APPEND);
        }
        String table = dp.clickhouse.qualified("ceiling" + round);
        join(dp.clickhouse.execute(TableSchema.createStatement(table, dp.version(UA_0_0))));
        String port = System.getenv().getOrDefault("CLICKHOUSE_TCP_PORT", "19000");
        long start = System.nanoTime();
        Process p = new ProcessBuilder("clickhouse-client", "--port", port, "--query", "INSERT INTO " + table + " FORMAT JSONEachRow")
                .redirectInput(file.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("clickhouse-client failed: " + out);
        }
        long end = System.nanoTime();
        Files.delete(file);
        return rate(rows, start, end);
    }

    /** What the sink's INSERTs alone cost: the same TabSeparated batches, already encoded, one HTTP INSERT each, one at a time. */
    private static double httpInsert(DataPlaneFixture dp, List<byte[]> batches, int rows, String round) {
        String table = "http" + round;
        join(dp.clickhouse.execute(TableSchema.createStatement(dp.clickhouse.qualified(table), dp.version(UA_0_0))));
        List<String> columns = new RowEncoder(dp.version(UA_0_0), new ObjectMapper()).columnNames();
        long start = System.nanoTime();
        for (byte[] batch : batches) {
            join(dp.clickhouse.insertTabSeparated(table, columns, batch));
        }
        return rate(rows, start, System.nanoTime());
    }

    /** A fresh table each round: a new sink finds no high-water mark and loads the topic from its start. */
    private static double tableSync(DataPlaneFixture dp) {
        String table = dp.clickhouse.qualified(dp.names.table(UA_0_0));
        dp.syncs().forEach(s -> join(s.stop()));
        join(dp.clickhouse.execute("DROP TABLE IF EXISTS " + table));
        join(dp.clickhouse.execute(TableSchema.createStatement(table, dp.version(UA_0_0))));
        return tableSyncRun(dp);
    }

    private static double tableSyncRun(DataPlaneFixture dp) {
        TableSyncRunner sync = dp.tableSync(UA_0_0);
        sync.start(dp.owner);
        long first = 0;
        long deadline = System.nanoTime() + HOP_TIMEOUT.toNanos();
        while (sync.status().processed() < RECORDS && System.nanoTime() < deadline) {
            if (first == 0 && sync.status().processed() > 0) {
                // The first INSERT has landed; count from when its batch began to fill.
                first = System.nanoTime();
            }
            sleep(5);
        }
        long end = System.nanoTime();
        long processed = sync.status().processed();
        // The first batch is not in the measured window: rate over the remaining rows.
        long firstBatch = Math.min(dp.sinkSettings.batchSize(), RECORDS);
        return rate(processed - firstBatch, first, end);
    }

    /**
     * Records at a steady rate into UserActivity 0.0; when each becomes visible in its own table and,
     * through a flow, in ParsedActivity 0.0, and on the way there in each topic between the hops (a
     * read_committed reader per topic, fetching every few ms), so the latency is split per stage.
     */
    private static String latency(DataPlaneFixture dp) {
        dp.startEverything();
        // Latency of a running pipeline, not its start-up: on a loaded machine the hops took 25 s to
        // reach Kafka and ClickHouse, and every record sent meanwhile counted it.
        DataPlaneFixture.await("every hop running", Duration.ofMinutes(3), () ->
                dp.flows().stream().allMatch(f -> f.status().hops().stream().allMatch(h -> h.state() == io.moose.flows.hop.HopState.RUNNING))
                        && dp.syncs().stream().allMatch(s -> s.status().state() == io.moose.flows.hop.HopState.RUNNING),
                () -> dp.flows().stream().map(f -> f.status().toString()).toList().toString());
        String topic = dp.names.ingestionTopic(UA_0_0);
        int total = (int) (LATENCY_RATE * LATENCY_RUN.toSeconds());
        String flow = dp.project.flows().stream()
                .filter(f -> f.source().toString().equals(UA_0_0.toString()) && f.target().toString().equals(PA_0_0.toString()))
                .findFirst().orElseThrow().id();
        // Each stage in path order: where a record of index i is seen first, as nanoTime.
        List<String> stageNames = List.of(
                "ingest -> " + UA_0_0 + " topic (producer, acks=all)",
                "copy-in -> flow input topic committed",
                "transform -> flow output topic committed",
                "copy-out -> " + PA_0_0 + " topic committed",
                "table sync -> " + PA_0_0 + " table (table polled every 50 ms)");
        List<String> topics = List.of(topic, dp.names.flowInput(flow), dp.names.flowOutput(flow), dp.names.ingestionTopic(PA_0_0));
        List<TopicWatch> watches = new ArrayList<>();
        for (String t : topics) {
            watches.add(new TopicWatch(dp, t, total));
        }
        watches.forEach(TopicWatch::awaitAssigned);
        long[] sentAt = new long[total];
        Map<VersionRef, TableWatch> tables = Map.of(UA_0_0, new TableWatch(dp, UA_0_0, total), PA_0_0, new TableWatch(dp, PA_0_0, total));
        long start = System.nanoTime();
        long intervalNanos = 1_000_000_000L / LATENCY_RATE;
        int sent = 0;
        long lastPoll = 0;
        long deadline = start + LATENCY_RUN.toNanos() + Duration.ofSeconds(30).toNanos();
        while ((tables.get(UA_0_0).seen < total || tables.get(PA_0_0).seen < total) && System.nanoTime() < deadline) {
            long now = System.nanoTime();
            List<ProducerRecord<byte[], byte[]>> due = new ArrayList<>();
            while (sent < total && start + sent * intervalNanos <= now) {
                sentAt[sent] = System.nanoTime();
                due.add(new ProducerRecord<>(topic, DataPlaneFixture.userActivity(UA_0_0, sent)));
                sent++;
            }
            if (!due.isEmpty()) {
                dp.produce(topic, due);
            }
            if (now - lastPoll > Duration.ofMillis(50).toNanos()) {
                lastPoll = now;
                tables.values().forEach(TableWatch::poll);
            }
            sleep(1);
        }
        watches.forEach(TopicWatch::close);
        StringBuilder out = new StringBuilder(String.format("End-to-end latency at %,d rec/s for %ds (sync.linger %s, sync.min-insert-interval %s,"
                        + " flow.commit-interval %s, flow.poll-timeout %s; table polled every 50 ms):%n",
                LATENCY_RATE, LATENCY_RUN.toSeconds(), dp.sinkSettings.linger(), dp.sinkSettings.minInsertInterval(),
                dp.flowSettings.commitInterval(), dp.flowSettings.pollTimeout()));
        out.append("\n| path | records | p50 | p99 |\n|---|---:|---:|---:|\n");
        for (VersionRef v : List.of(UA_0_0, PA_0_0)) {
            String path = v.equals(UA_0_0) ? "ingest -> UserActivity_0_0 (table sync)" : "ingest -> ParsedActivity_0_0 (copy-in, transform, copy-out, table sync)";
            long[] ms = millisBetween(sentAt, tables.get(v).seenAt);
            out.append(String.format("| %s | %d/%d | %s | %s |%n", path, ms.length, total, pct(ms, 0.5), pct(ms, 0.99)));
        }
        out.append("\nBy stage, ingest -> ParsedActivity_0_0 (each topic read by a read_committed consumer fetching every few ms;"
                + " 'stage' = the stage's own share, per record):\n\n| stage | records | since ingest p50 | p99 | stage p50 | stage p99 |\n|---|---:|---:|---:|---:|---:|\n");
        List<long[]> seenAts = new ArrayList<>();
        watches.forEach(w -> seenAts.add(w.seenAt));
        seenAts.add(tables.get(PA_0_0).seenAt);
        long[] previous = sentAt;
        for (int s = 0; s < stageNames.size(); s++) {
            long[] since = millisBetween(sentAt, seenAts.get(s));
            long[] own = millisBetween(previous, seenAts.get(s));
            out.append(String.format("| %s | %d/%d | %s | %s | %s | %s |%n", stageNames.get(s), since.length, total,
                    pct(since, 0.5), pct(since, 0.99), pct(own, 0.5), pct(own, 0.99)));
            previous = seenAts.get(s);
        }
        out.append("\nTable sinks' INSERTs over the whole run (all six sinks of the project):\n\n| sink | inserts | rows per insert | mean | max |\n|---|---:|---:|---:|---:|\n");
        dp.registry.find("moose.sink.insert").timers().forEach(t -> {
            var rows = dp.registry.find("moose.sink.insert.rows").tags(t.getId().getTags()).summary();
            out.append(String.format("| %s %s | %d | %.0f | %.0f ms | %.0f ms |%n", t.getId().getTag("owner"), t.getId().getTag("hop"), t.count(),
                    rows == null ? 0 : rows.mean(), t.mean(TimeUnit.MILLISECONDS), t.max(TimeUnit.MILLISECONDS)));
        });
        return out.toString();
    }

    /** Milliseconds from {@code from[i]} to {@code to[i]} for every record seen at both (0 = not seen), sorted. */
    private static long[] millisBetween(long[] from, long[] to) {
        long[] ms = new long[from.length];
        int k = 0;
        for (int i = 0; i < from.length; i++) {
            if (from[i] != 0 && to[i] != 0) {
                ms[k++] = (to[i] - from[i]) / 1_000_000;
            }
        }
        ms = Arrays.copyOf(ms, k);
        Arrays.sort(ms);
        return ms;
    }

    private static String pct(long[] sorted, double q) {
        return sorted.length == 0 ? "-" : sorted[Math.min(sorted.length - 1, (int) (sorted.length * q))] + " ms";
    }

    /** The record index in an eventId "0.0-123" anywhere in a JSON value, or -1. */
    static int eventIndex(byte[] value) {
        String s = new String(value, StandardCharsets.UTF_8);
        int at = s.indexOf("\"eventId\":\"");
        if (at < 0) {
            return -1;
        }
        int dash = s.indexOf('-', at + 11);
        int quote = s.indexOf('"', dash);
        try {
            return Integer.parseInt(s.substring(dash + 1, quote));
        } catch (RuntimeException e) {
            return -1;
        }
    }

    /** A read_committed reader of one topic, from its end, recording when each record index first shows. */
    private static final class TopicWatch {
        final long[] seenAt;
        private final Thread thread;
        private final java.util.concurrent.CountDownLatch assigned = new java.util.concurrent.CountDownLatch(1);
        private volatile boolean stop;

        TopicWatch(DataPlaneFixture dp, String topic, int total) {
            seenAt = new long[total];
            Properties p = new Properties();
            p.putAll(dp.kafka.commonClientProperties());
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            // The observer must not add the delay it measures: it asks again every few ms.
            p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "5");
            thread = new Thread(() -> {
                try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
                    List<TopicPartition> parts = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition())).toList();
                    c.assign(parts);
                    c.seekToEnd(parts);
                    parts.forEach(c::position);
                    assigned.countDown();
                    while (!stop) {
                        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(20))) {
                            long now = System.nanoTime();
                            int i = eventIndex(r.value());
                            if (i >= 0 && i < seenAt.length && seenAt[i] == 0) {
                                seenAt[i] = now;
                            }
                        }
                    }
                }
            }, "latency-watch-" + topic);
            thread.setDaemon(true);
            thread.start();
        }

        void awaitAssigned() {
            try {
                assigned.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void close() {
            stop = true;
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * When each record index shows in a table. Each poll asks only for rows above the highest source
     * offset seen per partition (a sink inserts each partition in offset order, one block per INSERT):
     * reading the whole table every 50 ms cost the bench and ClickHouse more as the table grew.
     */
    private static final class TableWatch {
        final long[] seenAt;
        int seen;
        private final DataPlaneFixture dp;
        private final String table;
        private final Map<Integer, Long> highest = new java.util.TreeMap<>();

        TableWatch(DataPlaneFixture dp, VersionRef version, int total) {
            this.dp = dp;
            this.table = dp.clickhouse.qualified(dp.names.table(version));
            this.seenAt = new long[total];
        }

        void poll() {
            StringBuilder where = new StringBuilder();
            highest.forEach((partition, offset) -> where.append(where.length() == 0 ? " WHERE NOT (" : " OR ")
                    .append("(_src_partition = ").append(partition).append(" AND _src_offset <= ").append(offset).append(')'));
            if (where.length() > 0) {
                where.append(')');
            }
            List<List<String>> rows = join(dp.clickhouse.query("SELECT eventId, _src_partition, _src_offset FROM " + table + where));
            long now = System.nanoTime();
            for (List<String> r : rows) {
                int i = Integer.parseInt(r.get(0).substring(r.get(0).indexOf('-') + 1));
                highest.merge(Integer.parseInt(r.get(1)), Long.parseLong(r.get(2)), Math::max);
                if (i < seenAt.length && seenAt[i] == 0) {
                    seenAt[i] = now;
                    seen++;
                }
            }
        }
    }

    /** A rate over an empty window would print as 1 rec/s or NaN and look like a measurement. */
    private static String tooFewRecords(String what) {
        return what + " moved all " + RECORDS + " records before its measured window began (one commit interval after"
                + " the first record): raise bench.records or lower moose-flows.flow.commit-interval";
    }

    private static double rate(long records, long fromNanos, long toNanos) {
        return records / ((toNanos - fromNanos) / 1e9);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Counts what a hop moved and when the first and last record went. */
    private static final class Probe implements HopContext {
        private final AtomicLong processed = new AtomicLong();
        private volatile long first;
        /** What the first report covered: moved before {@code first}, so not in the measured window. */
        private volatile long firstCount;
        private volatile long last;
        private volatile Consumer.Control control;

        @Override
        public void ready() {
        }

        @Override
        public void controlledBy(Consumer.Control control) {
            this.control = control;
        }

        @Override
        public void processed(long records) {
            long now = System.nanoTime();
            if (processed.getAndAdd(records) == 0) {
                first = now;
                firstCount = records;
            }
            last = now;
        }

        @Override
        public void deadLettered(long records) {
        }

        double awaitRate(long expected) {
            long deadline = System.nanoTime() + HOP_TIMEOUT.toNanos();
            while (processed.get() < expected && System.nanoTime() < deadline) {
                sleep(5);
            }
            if (processed.get() < expected) {
                throw new IllegalStateException("hop moved only " + processed.get() + " of " + expected);
            }
            if (firstCount >= expected || last == first) {
                throw new IllegalStateException(tooFewRecords("a hop"));
            }
            return rate(expected - firstCount, first, last);
        }
    }

}
