package io.moose.flows.sync;

import akka.kafka.ConsumerSettings;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A table sink run's Kafka consumer, made while the run's fence is built: it looks up the topic's
 * partitions and asks their leaders for their first offsets, which opens the connections the first
 * fetch uses. It reads nothing: where the run starts reading is decided by the high-water mark,
 * after the fence. A new consumer's first poll used to do all of that after the fence, on the path
 * of a table sync moving to another node (issue 11).
 *
 * <p>Whoever ends the run closes the consumer: the run's reader once it {@link #claim claimed} it,
 * otherwise {@link #closeUnclaimed} when the run ends before reading (fenced, failed, cut off).
 */
final class PreparedConsumer {

    /** Making a consumer and its first requests block; a few sink runs start at a time at most. */
    private static final ExecutorService PREPARING = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "moose-sink-consumer-prepare");
        t.setDaemon(true);
        return t;
    });

    private final CompletableFuture<Consumer<byte[], byte[]>> consumer;
    private final CompletableFuture<List<TopicPartition>> partitions;
    private final AtomicBoolean claimed = new AtomicBoolean();

    private PreparedConsumer(CompletableFuture<Consumer<byte[], byte[]>> consumer, CompletableFuture<List<TopicPartition>> partitions) {
        this.consumer = consumer;
        this.partitions = partitions;
    }

    static PreparedConsumer start(ConsumerSettings<byte[], byte[]> settings, String topic) {
        CompletableFuture<List<TopicPartition>> partitions = new CompletableFuture<>();
        CompletableFuture<Consumer<byte[], byte[]>> consumer = CompletableFuture.supplyAsync(() -> {
            Consumer<byte[], byte[]> c = settings.createKafkaConsumer();
            try {
                List<PartitionInfo> infos = c.partitionsFor(topic);
                if (infos == null || infos.isEmpty()) {
                    throw new IllegalStateException("topic " + topic + " has no partitions (does it exist?)");
                }
                List<TopicPartition> list = infos.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
                partitions.complete(list);
                c.beginningOffsets(list);
                return c;
            } catch (RuntimeException e) {
                partitions.completeExceptionally(e);
                c.close(java.time.Duration.ZERO);
                throw e;
            }
        }, PREPARING);
        consumer.whenComplete((c, e) -> {
            if (e != null) {
                partitions.completeExceptionally(e);
            }
        });
        return new PreparedConsumer(consumer, partitions);
    }

    /** The topic's partitions, as the consumer found them. */
    CompletionStage<List<TopicPartition>> partitions() {
        return partitions;
    }

    /** The consumer, for the one reader that uses and closes it; waits until it is made. */
    Consumer<byte[], byte[]> claim() {
        if (!claimed.compareAndSet(false, true)) {
            throw new IllegalStateException("the run's consumer was claimed already, or the run ended");
        }
        return consumer.join();
    }

    /** Closes the consumer (once made) unless a reader claimed it. */
    void closeUnclaimed() {
        if (claimed.compareAndSet(false, true)) {
            consumer.thenAccept(c -> c.close(java.time.Duration.ZERO));
        }
    }
}
