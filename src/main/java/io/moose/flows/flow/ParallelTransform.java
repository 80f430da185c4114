package io.moose.flows.flow;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * The transform hop's step: one poll's records cut into contiguous slices transformed at once on the
 * executor, each slice by its own {@link TransformStep} (so by its own transform instance), then
 * sent in input order. Parsing, transforming, validating and serialising is most of the hop's CPU
 * and sending the rest: the hop's thread sends the previous poll's outputs while the slices of this
 * one are transformed (ops/bench: the hop's thread was the bottleneck, busy sending and transforming
 * a slice of its own, while the machine had CPU to spare).
 */
final class ParallelTransform implements TransactionalHop.Step {

    private final List<TransformStep> steps;
    private final int minSliceSize;
    private final Executor executor;
    /** The previous poll's slices: each step is used by one slice at a time, so the next poll's start waits for them. */
    private List<CompletableFuture<List<TransformStep.Outcome>>> running = List.of();

    /**
     * @param steps        one per slice, at least one
     * @param minSliceSize a poll smaller than this is transformed on the hop's thread (handing it
     *                     over costs more than it saves); larger ones are cut into slices no smaller
     */
    ParallelTransform(List<TransformStep> steps, int minSliceSize, Executor executor) {
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("at least one transform step is needed");
        }
        this.steps = List.copyOf(steps);
        this.minSliceSize = minSliceSize;
        this.executor = executor;
    }

    @Override
    public TransactionalHop.Outputs start(ConsumerRecords<byte[], byte[]> inputs) {
        running.forEach(CompletableFuture::join);
        running = List.of();
        // partition by partition, the order iterating the poll gives; whole lists copy faster than records one by one
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(inputs.count());
        for (TopicPartition partition : inputs.partitions()) {
            records.addAll(inputs.records(partition));
        }
        if (records.size() < minSliceSize) {
            List<TransformStep.Outcome> outcomes = transform(steps.get(0), records);
            return send -> sendAll(outcomes, send);
        }
        int slices = Math.min(steps.size(), records.size() / minSliceSize);
        int sliceSize = (records.size() + slices - 1) / slices;
        List<CompletableFuture<List<TransformStep.Outcome>>> transformed = new ArrayList<>(slices);
        for (int s = 0; s < slices; s++) {
            List<ConsumerRecord<byte[], byte[]>> slice = records.subList(Math.min(records.size(), s * sliceSize),
                    Math.min(records.size(), (s + 1) * sliceSize));
            TransformStep step = steps.get(s);
            transformed.add(CompletableFuture.supplyAsync(() -> transform(step, slice), executor));
        }
        running = transformed;
        return send -> {
            int deadLettered = 0;
            for (CompletableFuture<List<TransformStep.Outcome>> slice : transformed) {
                deadLettered += sendAll(slice.join(), send);
            }
            return deadLettered;
        };
    }

    private static List<TransformStep.Outcome> transform(TransformStep step, List<ConsumerRecord<byte[], byte[]>> slice) {
        List<TransformStep.Outcome> outcomes = new ArrayList<>(slice.size());
        for (ConsumerRecord<byte[], byte[]> record : slice) {
            outcomes.add(step.apply(record));
        }
        return outcomes;
    }

    private static int sendAll(List<TransformStep.Outcome> outcomes, Consumer<ProducerRecord<byte[], byte[]>> send) {
        int deadLettered = 0;
        for (TransformStep.Outcome outcome : outcomes) {
            outcome.records().forEach(send);
            if (outcome.deadLettered()) {
                deadLettered++;
            }
        }
        return deadLettered;
    }
}
