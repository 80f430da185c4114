package io.moose.flows.kafka;

import akka.actor.ClassicActorSystemProvider;
import akka.kafka.ConsumerSettings;
import akka.kafka.ProducerSettings;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Consumer, producer and admin clients of the data plane. Keys and values stay bytes: hops copy
 * them unchanged and parse JSON only where they must. Akka's {@code akka.kafka.*} config supplies
 * the defaults (read_committed, acks=all, idempotence: see moose-akka.conf); the operator's client
 * properties (security etc.) come on top.
 */
public final class KafkaClients {

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
}
