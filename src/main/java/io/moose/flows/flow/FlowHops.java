package io.moose.flows.flow;

import akka.Done;
import akka.NotUsed;
import akka.kafka.ConsumerSettings;
import akka.kafka.ProducerSettings;
import akka.stream.javadsl.Source;
import io.moose.flows.hop.HopContext;
import io.moose.flows.kafka.KafkaClients;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.Supplier;

/**
 * The topic-to-topic hops of a flow, each consume-transform-produce inside Kafka transactions
 * (design section 3): the consumed offsets are committed in the same transaction as the produced
 * records, and every consumer reads committed data only. Each runs as a {@link TransactionalHop}.
 */
public final class FlowHops {

    private final FlowSettings settings;
    private final KafkaClients kafka;
    private final Executor transformExecutor;

    /** @param transformExecutor runs the transform hop's slices (CPU-bound work) while the hop's thread sends */
    public FlowHops(FlowSettings settings, KafkaClients kafka, Executor transformExecutor) {
        this.settings = settings;
        this.kafka = kafka;
        this.transformExecutor = transformExecutor;
    }

    /**
     * Copies {@code from} into {@code to} unchanged: key, value and header bytes, and the timestamp.
     * Records are not parsed. The partition is not kept: the producer's partitioner places each
     * record by its key (sticky for null keys), which is all the sinks downstream need, since they
     * deduplicate by source coordinates, not by order across partitions.
     */
    public Source<Done, NotUsed> copy(String group, String transactionalId, String from, String to, HopContext context) {
        return copy(group, transactionalId, Set.of(from), to, context);
    }

    /** Like {@link #copy(String, String, String, String, HopContext)} from several topics into one. */
    public Source<Done, NotUsed> copy(String group, String transactionalId, Set<String> from, String to, HopContext context) {
        return hop(group, transactionalId, from, inputs -> send -> {
            for (ConsumerRecord<byte[], byte[]> input : inputs) {
                send.accept(copyOf(input, to));
            }
            return 0;
        }).source(context);
    }

    static ProducerRecord<byte[], byte[]> copyOf(ConsumerRecord<byte[], byte[]> record, String to) {
        return new ProducerRecord<>(to, null, record.timestamp(), record.key(), record.value(), record.headers());
    }

    /**
     * The input topic through the transform into the output topic; records the transform rejects go
     * to the dead-letter topic in the same transaction, so the flow continues past them.
     *
     * @param steps creates one step (with its own transform instance) per slice of a run
     */
    public Source<Done, NotUsed> transform(String group, String transactionalId, String from, Supplier<TransformStep> steps,
                                           HopContext context) {
        return Source.lazySource(() -> {
            List<TransformStep> perSlice = new ArrayList<>();
            for (int i = 0; i < settings.transformParallelism(); i++) {
                perSlice.add(steps.get());
            }
            return hop(group, transactionalId, Set.of(from),
                    new ParallelTransform(perSlice, settings.transformMinSlice(), transformExecutor)).source(context);
        }).mapMaterializedValue(ignored -> NotUsed.getInstance());
    }

    private TransactionalHop hop(String group, String transactionalId, Set<String> from, TransactionalHop.Step step) {
        return new TransactionalHop(transactionalId, from, step, consumer(group), producer(transactionalId),
                settings.commitInterval(), settings.minCommitInterval(), settings.pollTimeout());
    }

    ConsumerSettings<byte[], byte[]> consumer(String group) {
        return kafka.consumer(group)
                .withProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(settings.maxPollRecords()));
    }

    ProducerSettings<byte[], byte[]> producer(String transactionalId) {
        return kafka.producer()
                .withProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId)
                .withProperty(ProducerConfig.LINGER_MS_CONFIG, String.valueOf(settings.producerLinger().toMillis()))
                .withProperty(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(settings.producerBatchSize()))
                .withProperty(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, String.valueOf(settings.producerMaxInFlight()));
    }
}
