package io.moose.flows.flow;

import io.moose.flows.api.Transform;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.VersionRef;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParallelTransformTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ModelVersion TARGET = ProjectDefinitionLoader.load(Path.of("conf/project.conf"))
            .version(VersionRef.parse("ParsedActivity/0.0")).orElseThrow();
    private static final int SLICES = 3;
    private static final int MIN_SLICE = 10;
    private static final long TIMESTAMP = 1_700_000_000_000L;

    private final ExecutorService executor = Executors.newFixedThreadPool(SLICES);

    @AfterEach
    void stopExecutor() {
        executor.shutdownNow();
    }

    /** Copies eventId, fails on every 7th record, and counts any call made while another call on it runs. */
    private static final class CheckedTransform implements Transform {
        final AtomicInteger inside = new AtomicInteger();
        final AtomicInteger overlaps = new AtomicInteger();

        @Override
        public List<ObjectNode> apply(ObjectNode record) throws Exception {
            if (inside.incrementAndGet() > 1) {
                overlaps.incrementAndGet();
            }
            try {
                Thread.onSpinWait();
                int i = record.get("i").asInt();
                if (i % 7 == 0) {
                    throw new IllegalArgumentException("every 7th");
                }
                ObjectNode out = record.objectNode();
                out.put("eventId", "e" + i).put("timestamp", 0).put("userId", "u").put("action", "a").put("target", "t");
                return List.of(out);
            } finally {
                inside.decrementAndGet();
            }
        }
    }

    private static ConsumerRecords<byte[], byte[]> poll(int from, int count) {
        Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> records = new HashMap<>();
        for (int i = from; i < from + count; i++) {
            int partition = i % 2;
            records.computeIfAbsent(new TopicPartition("in", partition), p -> new ArrayList<>())
                    .add(new ConsumerRecord<>("in", partition, i, TIMESTAMP, TimestampType.CREATE_TIME, -1, -1, null,
                            ("{\"i\":" + i + "}").getBytes(StandardCharsets.UTF_8), new RecordHeaders(), Optional.empty()));
        }
        return new ConsumerRecords<>(records);
    }

    @Test
    void outputsComeInInputOrderAndNoTransformInstanceIsCalledConcurrently() {
        List<CheckedTransform> transforms = new ArrayList<>();
        List<TransformStep> steps = new ArrayList<>();
        for (int s = 0; s < SLICES; s++) {
            CheckedTransform transform = new CheckedTransform();
            transforms.add(transform);
            steps.add(new TransformStep("F", transform, TARGET, "out", "dlq", JSON));
        }
        ParallelTransform parallel = new ParallelTransform(steps, MIN_SLICE, executor);
        int perPoll = 97;
        List<ConsumerRecords<byte[], byte[]>> polls = new ArrayList<>();
        for (int p = 0; p < 50; p++) {
            // every 5th poll is too small to hand over: transformed on the calling thread
            polls.add(poll(p * perPoll, p % 5 == 4 ? MIN_SLICE - 1 : perPoll));
        }
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        int deadLettered = 0;
        // as the hop's loop does: start the next poll before sending the previous one
        TransactionalHop.Outputs previous = null;
        for (ConsumerRecords<byte[], byte[]> poll : polls) {
            TransactionalHop.Outputs next = parallel.start(poll);
            if (previous != null) {
                deadLettered += previous.sendTo(sent::add);
            }
            previous = next;
        }
        deadLettered += previous.sendTo(sent::add);

        // each poll's own iteration order (partition by partition) is the order the step must keep
        List<Integer> expectedOrder = new ArrayList<>();
        for (ConsumerRecords<byte[], byte[]> poll : polls) {
            poll.forEach(r -> expectedOrder.add(Integer.parseInt(new String(r.value(), StandardCharsets.UTF_8).replaceAll("\\D", ""))));
        }
        long expectedDead = expectedOrder.stream().filter(i -> i % 7 == 0).count();
        List<Integer> actualOrder = new ArrayList<>();
        for (ProducerRecord<byte[], byte[]> record : sent) {
            String value = new String(record.value(), StandardCharsets.UTF_8);
            if (record.topic().equals("dlq")) {
                actualOrder.add(Integer.parseInt(value.replaceAll("\\D", "")));
            } else {
                actualOrder.add(Integer.parseInt(value.replaceAll(".*\"eventId\":\"e(\\d+)\".*", "$1")));
            }
        }
        transforms.forEach(t -> assertEquals(0, t.overlaps.get(), "a transform instance was called concurrently"));
        assertTrue(expectedOrder.equals(actualOrder), "outputs not in input order");
        assertEquals(expectedDead, deadLettered);
        assertTrue(transforms.stream().allMatch(t -> t.inside.get() == 0));
    }
}
