package io.moose.flows.flow;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * The transform hop's step: one poll's records cut into contiguous slices transformed at once, each
 * slice by its own {@link TransformStep} (so by its own transform instance), then sent in input
 * order. Parsing, transforming, validating and serialising every record is the hop's whole CPU
 * cost; the hop's thread takes the first slice itself and the executor the others.
 */
final class ParallelTransform implements TransactionalHop.Step {

    private final List<TransformStep> steps;
    private final int minSliceSize;
    private final Executor executor;

    /**
     * @param steps        one per slice, at least one
     * @param minSliceSize a poll smaller than two of these is not cut: handing it over costs more than it saves
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
    public int apply(ConsumerRecords<byte[], byte[]> inputs, Consumer<ProducerRecord<byte[], byte[]>> send) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(inputs.count());
        inputs.forEach(records::add);
        int slices = Math.max(1, Math.min(steps.size(), records.size() / minSliceSize));
        int sliceSize = (records.size() + slices - 1) / slices;
        List<CompletableFuture<List<TransformStep.Outcome>>> others = new ArrayList<>(slices - 1);
        for (int s = 1; s < slices; s++) {
            List<ConsumerRecord<byte[], byte[]>> slice = records.subList(Math.min(records.size(), s * sliceSize),
                    Math.min(records.size(), (s + 1) * sliceSize));
            TransformStep step = steps.get(s);
            others.add(CompletableFuture.supplyAsync(() -> transform(step, slice), executor));
        }
        int deadLettered = sendAll(transform(steps.get(0), records.subList(0, Math.min(records.size(), sliceSize))), send);
        for (CompletableFuture<List<TransformStep.Outcome>> slice : others) {
            deadLettered += sendAll(slice.join(), send);
        }
        return deadLettered;
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
