package io.moose.flows.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.flow.TransformStep;
import io.moose.flows.flow.Transforms;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.testing.DataPlaneFixture;
import org.apache.kafka.clients.consumer.ConsumerRecord;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static io.moose.flows.testing.DataPlaneFixture.PA_0_1;
import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;

/**
 * Issue 13: the two kinds of user transform side by side without Kafka, one thread: a transform
 * step (read, transform, validate, write) of the flow UserActivity/0.0 -> ParsedActivity/0.1 with
 * the JSON-tree {@code ParseActivityWithPage} and with the typed {@code ParseActivityRecords} (input
 * bytes bound straight into a record, no tree), on the same records, rounds alternating. Reports
 * records/s and this thread's CPU seconds per million records (medians). {@code ops/bench --transforms}.
 */
public final class TransformStepBench {

    private static final int RECORDS = Integer.getInteger("bench.records", 1_000_000);
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 5);
    private static final int WARMUP_ROUNDS = Integer.getInteger("bench.warmup-rounds", 2);
    private static final Map<String, String> SIDES = new LinkedHashMap<>();

    static {
        SIDES.put("tree", "io.moose.flows.example.ParseActivityWithPage");
        SIDES.put("typed", "io.moose.flows.example.ParseActivityRecords");
    }

    public static void main(String[] args) {
        ProjectDefinition project = ProjectDefinitionLoader.load(Path.of("conf/project.conf"));
        ModelVersion source = project.version(UA_0_0).orElseThrow();
        ModelVersion target = project.version(PA_0_1).orElseThrow();
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(RECORDS);
        for (int i = 0; i < RECORDS; i++) {
            records.add(new ConsumerRecord<>("in", 0, i, 1_700_000_000_000L, org.apache.kafka.common.record.TimestampType.CREATE_TIME,
                    -1, -1, null, DataPlaneFixture.userActivity(UA_0_0, i), new org.apache.kafka.common.header.internals.RecordHeaders(),
                    Optional.empty()));
        }
        Transforms transforms = Transforms.classPathOnly();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Map<String, List<Double>> rates = new LinkedHashMap<>();
        Map<String, List<Double>> cpu = new LinkedHashMap<>();
        for (int round = 1 - WARMUP_ROUNDS; round <= ROUNDS; round++) {
            for (Map.Entry<String, String> side : SIDES.entrySet()) {
                FlowDefinition flow = new FlowDefinition(UA_0_0, PA_0_1, Optional.of(side.getValue()), false);
                TransformStep step = new TransformStep("bench", transforms.create(flow, source, target), target, "out", "dlq",
                        new ObjectMapper());
                long outputs = 0;
                long cpuBefore = threads.getCurrentThreadCpuTime();
                long start = System.nanoTime();
                for (ConsumerRecord<byte[], byte[]> record : records) {
                    TransformStep.Outcome outcome = step.apply(record);
                    if (outcome.deadLettered()) {
                        throw new IllegalStateException(side.getKey() + " dead-lettered record " + record.offset() + ": "
                                + new String(outcome.records().get(0).headers().lastHeader(TransformStep.ERROR_MESSAGE).value(),
                                java.nio.charset.StandardCharsets.UTF_8));
                    }
                    outputs += outcome.records().size();
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                double cpuSeconds = (threads.getCurrentThreadCpuTime() - cpuBefore) / 1e9;
                if (outputs != RECORDS) {
                    throw new IllegalStateException(side.getKey() + " gave " + outputs + " outputs for " + RECORDS);
                }
                if (round >= 1) {
                    rates.computeIfAbsent(side.getKey(), k -> new ArrayList<>()).add(RECORDS / seconds);
                    cpu.computeIfAbsent(side.getKey(), k -> new ArrayList<>()).add(cpuSeconds * 1e6 / RECORDS);
                }
            }
        }
        System.out.printf("%nTransform step alone (no Kafka), %,d records of UserActivity/0.0 -> ParsedActivity/0.1, one thread,"
                + " median of %d rounds after %d warm-up:%n%n", RECORDS, ROUNDS, WARMUP_ROUNDS);
        System.out.println("| transform | rec/s | CPU s per 1M records | vs tree (rate) |");
        System.out.println("|---|---:|---:|---:|");
        double treeRate = DataPlaneBench.median(rates.get("tree"));
        for (String side : SIDES.keySet()) {
            double rate = DataPlaneBench.median(rates.get(side));
            System.out.printf("| %s (%s) | %,.0f | %.2f | %.2fx |%n", side, SIDES.get(side).substring(SIDES.get(side).lastIndexOf('.') + 1),
                    rate, DataPlaneBench.median(cpu.get(side)), rate / treeRate);
        }
        System.out.println("per round (rec/s): " + rates);
    }
}
