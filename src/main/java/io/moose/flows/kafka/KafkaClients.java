package io.moose.flows.kafka;

import akka.actor.ClassicActorSystemProvider;
import akka.kafka.ConsumerSettings;
import akka.kafka.ProducerSettings;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumer, producer and admin clients of the data plane. Keys and values stay bytes: hops copy
 * them unchanged and parse JSON only where they must. Akka's {@code akka.kafka.*} config supplies
 * the defaults (read_committed, acks=all, idempotence: see moose-akka.conf); the operator's client
 * properties (security etc.) come on top.
 */
public final class KafkaClients {

    private static final Logger log = LoggerFactory.getLogger(KafkaClients.class);

    private final ClassicActorSystemProvider system;
    private final KafkaSettings settings;

    public KafkaClients(ClassicActorSystemProvider system, KafkaSettings settings) {
        this.system = system;
        this.settings = settings;
    }

    public ConsumerSettings<byte[], byte[]> consumer(String group) {
        ConsumerSettings<byte[], byte[]> consumer = ConsumerSettings.create(system, new ByteArrayDeserializer(), new ByteArrayDeserializer())
                .withGroupId(group)
                // Hops stop by draining (DrainingControl pattern), so the consumer need not linger after
                // its stream completed; Akka's default keeps it 30 s, which every stop would wait out.
                .withStopTimeout(java.time.Duration.ZERO)
                // Read-committed is what makes every hop see only the output of committed transactions.
                .withProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        for (var e : settings.commonClientProperties().entrySet()) {
            consumer = consumer.withProperty(e.getKey(), String.valueOf(e.getValue()));
        }
        return consumer;
    }

    public ProducerSettings<byte[], byte[]> producer() {
        ProducerSettings<byte[], byte[]> producer = ProducerSettings.create(system, new ByteArraySerializer(), new ByteArraySerializer());
        for (var e : settings.commonClientProperties().entrySet()) {
            producer = producer.withProperty(e.getKey(), String.valueOf(e.getValue()));
        }
        return producer;
    }

    /** A new admin client; the caller closes it. */
    public Admin admin() {
        return Admin.create(settings.commonClientProperties());
    }

    public KafkaSettings settings() {
        return settings;
    }

    /**
     * Ends a transactional run's clients, each may be null: aborts the open transaction when asked (if
     * that fails, the next run's initTransactions aborts it), then closes the producer and the consumer.
     * Nothing thrown; failures are logged at debug under {@code name}.
     */
    public static void closeRun(String name, Producer<?, ?> producer, boolean abortOpenTransaction, Consumer<?, ?> consumer) {
        if (producer != null) {
            try {
                if (abortOpenTransaction) {
                    producer.abortTransaction();
                }
            } catch (RuntimeException e) {
                log.debug("{}: could not abort the open transaction (the next run's initTransactions will): {}", name, e.toString());
            }
            closeQuietly(name, producer);
        }
        if (consumer != null) {
            closeQuietly(name, consumer);
        }
    }

    private static void closeQuietly(String name, AutoCloseable client) {
        try {
            client.close();
        } catch (Exception e) {
            log.debug("{}: closing a client failed: {}", name, e.toString());
        }
    }
}
