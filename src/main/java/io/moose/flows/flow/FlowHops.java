package io.moose.flows.flow;

import akka.NotUsed;
import akka.kafka.ConsumerMessage;
import akka.kafka.ConsumerSettings;
import akka.kafka.ProducerMessage;
import akka.kafka.ProducerSettings;
import akka.kafka.Subscriptions;
import akka.kafka.javadsl.Consumer;
import akka.kafka.javadsl.Transactional;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Source;
import io.moose.flows.hop.HopContext;
import io.moose.flows.kafka.KafkaClients;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The topic-to-topic hops of a flow, each consume-transform-produce inside Kafka transactions
 * (design section 3): the consumed offsets are committed in the same transaction as the produced
 * records, and every consumer reads committed data only.
 */
public final class FlowHops {

    private final FlowSettings settings;
    private final KafkaClients kafka;

    public FlowHops(FlowSettings settings, KafkaClients kafka) {
        this.settings = settings;
        this.kafka = kafka;
    }

    /**
     * Copies {@code from} into {@code to} unchanged: key, value and header bytes, and the timestamp.
     * Records are not parsed. The partition is not kept: the producer's partitioner places each
     * record by its key (sticky for null keys), which is all the sinks downstream need, since they
     * deduplicate by source coordinates, not by order across partitions.
     */
    public Source<ProducerMessage.Results<byte[], byte[], ConsumerMessage.PartitionOffset>, Consumer.Control> copy(
            String group, String transactionalId, String from, String to, HopContext context) {
        return copy(group, transactionalId, Set.of(from), to, context);
    }

    /** Like {@link #copy(String, String, String, String, HopContext)} from several topics into one. */
    public Source<ProducerMessage.Results<byte[], byte[], ConsumerMessage.PartitionOffset>, Consumer.Control> copy(
            String group, String transactionalId, Set<String> from, String to, HopContext context) {
        return Transactional.source(consumer(group), Subscriptions.topics(from))
                .mapMaterializedValue(control -> {
                    context.controlledBy(control);
                    return control;
                })
                // While the producer is busy (e.g. committing), records queue up and go on as one
                // message per source partition, carrying that partition's last offset: fewer stream
                // elements per record, and each offset is still committed in the transaction holding
                // every record at or below it.
                .batch(settings.maxPollRecords(), FlowHops::newBatch, FlowHops::addTo)
                .mapConcat(messages -> perPartition(messages, to))
                .via(Transactional.flow(producer(), transactionalId))
                .map(result -> {
                    context.processed(result instanceof ProducerMessage.MultiResult<byte[], byte[], ?> multi ? multi.getParts().size() : 1);
                    return result;
                });
    }

    /** One multi-message per source partition, in offset order, with the partition's last offset. */
    static List<ProducerMessage.Envelope<byte[], byte[], ConsumerMessage.PartitionOffset>> perPartition(
            List<ConsumerMessage.TransactionalMessage<byte[], byte[]>> messages, String to) {
        Map<org.apache.kafka.common.TopicPartition, List<ConsumerMessage.TransactionalMessage<byte[], byte[]>>> byPartition = new LinkedHashMap<>();
        for (ConsumerMessage.TransactionalMessage<byte[], byte[]> m : messages) {
            byPartition.computeIfAbsent(new org.apache.kafka.common.TopicPartition(m.record().topic(), m.record().partition()),
                    k -> new ArrayList<>()).add(m);
        }
        List<ProducerMessage.Envelope<byte[], byte[], ConsumerMessage.PartitionOffset>> envelopes = new ArrayList<>();
        for (List<ConsumerMessage.TransactionalMessage<byte[], byte[]>> partition : byPartition.values()) {
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(partition.size());
            partition.forEach(m -> records.add(copyOf(m.record(), to)));
            envelopes.add(ProducerMessage.multi(records, partition.get(partition.size() - 1).partitionOffset()));
        }
        return envelopes;
    }

    static ProducerRecord<byte[], byte[]> copyOf(ConsumerRecord<byte[], byte[]> record, String to) {
        return new ProducerRecord<>(to, null, record.timestamp(), record.key(), record.value(), record.headers());
    }

    /**
     * The input topic through the transform into the output topic; records the transform rejects go
     * to the dead-letter topic in the same transaction, so the flow continues past them.
     */
    public Source<ProducerMessage.Results<byte[], byte[], ConsumerMessage.PartitionOffset>, Consumer.Control> transform(
            String group, String transactionalId, String from, TransformStep step, String deadLetterTopic,
            HopContext context) {
        return Transactional.source(consumer(group), Subscriptions.topics(from))
                .mapMaterializedValue(control -> {
                    context.controlledBy(control);
                    return control;
                })
                .map(message -> new Transformed(message.partitionOffset(), step.apply(message.record())))
                // As in copy: what queues up while the producer is busy goes on as one message per
                // source partition with all its outputs and dead letters and the partition's last
                // offset, so every record of an input is in the transaction committing its offset.
                .batch(settings.maxPollRecords(), FlowHops::newBatch, FlowHops::addTo)
                .mapConcat(FlowHops::perPartitionTransformed)
                .via(produceCounting(Transactional.flow(producer(), transactionalId), context));
    }

    /** One input through the transform: its offset and what it became. */
    record Transformed(ConsumerMessage.PartitionOffset offset, TransformStep.Outcome outcome) {
    }

    /** One source partition's part of a batch: the message to produce, and the inputs it stands for. */
    record PartitionBatch(ProducerMessage.Envelope<byte[], byte[], ConsumerMessage.PartitionOffset> envelope,
                          int inputs, int deadLettered) {
    }

    private static <T> List<T> newBatch(T first) {
        List<T> batch = new ArrayList<>();
        batch.add(first);
        return batch;
    }

    private static <T> List<T> addTo(List<T> batch, T next) {
        batch.add(next);
        return batch;
    }

    /**
     * One message per source partition, in offset order, carrying the outputs and dead letters of
     * all its inputs and the partition's last offset (a pass-through when none produced anything).
     */
    static List<PartitionBatch> perPartitionTransformed(List<Transformed> batch) {
        Map<ConsumerMessage.GroupTopicPartition, List<Transformed>> byPartition = new LinkedHashMap<>();
        for (Transformed t : batch) {
            byPartition.computeIfAbsent(t.offset().key(), k -> new ArrayList<>()).add(t);
        }
        List<PartitionBatch> out = new ArrayList<>(byPartition.size());
        for (List<Transformed> partition : byPartition.values()) {
            List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
            int deadLettered = 0;
            for (Transformed t : partition) {
                records.addAll(t.outcome().records());
                if (t.outcome().deadLettered()) {
                    deadLettered++;
                }
            }
            ConsumerMessage.PartitionOffset last = partition.get(partition.size() - 1).offset();
            out.add(new PartitionBatch(records.isEmpty()
                    // Nothing to produce, but the offset must still be committed with the transaction.
                    ? ProducerMessage.passThrough(last)
                    : ProducerMessage.multi(records, last), partition.size(), deadLettered));
        }
        return out;
    }

    /**
     * {@code produce}, counting each message's inputs as processed (and its dead letters) once its
     * result is out. The producer emits one result per message, in order, so the counts wait in a
     * queue of this materialization.
     */
    static Flow<PartitionBatch, ProducerMessage.Results<byte[], byte[], ConsumerMessage.PartitionOffset>, NotUsed> produceCounting(
            Flow<ProducerMessage.Envelope<byte[], byte[], ConsumerMessage.PartitionOffset>,
                    ProducerMessage.Results<byte[], byte[], ConsumerMessage.PartitionOffset>, NotUsed> produce,
            HopContext context) {
        return Flow.<PartitionBatch>create()
                .via(Flow.fromMaterializer((materializer, attributes) -> {
                    Queue<PartitionBatch> sent = new ConcurrentLinkedQueue<>();
                    return Flow.<PartitionBatch>create()
                            .map(batch -> {
                                sent.add(batch);
                                return batch.envelope();
                            })
                            .via(produce)
                            .map(result -> {
                                PartitionBatch batch = sent.poll();
                                if (batch == null || !batch.envelope().passThrough().equals(result.passThrough())) {
                                    throw new IllegalStateException("producer result out of order: " + result.passThrough());
                                }
                                context.processed(batch.inputs());
                                if (batch.deadLettered() > 0) {
                                    context.deadLettered(batch.deadLettered());
                                }
                                return result;
                            });
                }))
                .mapMaterializedValue(ignored -> NotUsed.getInstance());
    }

    ConsumerSettings<byte[], byte[]> consumer(String group) {
        return kafka.consumer(group)
                // The transactional source waits this long for in-flight records when partitions are revoked.
                .withCommitTimeout(settings.revokeDrainTimeout())
                .withProperty(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(settings.maxPollRecords()));
    }

    ProducerSettings<byte[], byte[]> producer() {
        return kafka.producer()
                .withEosCommitInterval(settings.commitInterval())
                .withProperty(ProducerConfig.LINGER_MS_CONFIG, String.valueOf(settings.producerLinger().toMillis()))
                .withProperty(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(settings.producerBatchSize()));
    }
}
