package io.moose.flows.ingest;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;

import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One Kafka producer of an ingest writer, created on first use (so a node starts while Kafka is
 * down), used by one thread at a time. {@link #discard()} drops it at once after a failure (what
 * it still holds unsent is aborted, not sent) and the next use creates a fresh one.
 */
final class ProducerSlot {

    private final Map<String, Object> config;
    private final Consumer<KafkaProducer<byte[], byte[]>> setUp;
    private final Duration closeTimeout;
    private KafkaProducer<byte[], byte[]> producer;
    private Metric recordsSent;

    /**
     * @param setUp runs on each new producer before it is used (e.g. initTransactions); a producer whose
     *              set-up throws is closed at once and the failure passed on
     */
    ProducerSlot(Map<String, Object> config, Consumer<KafkaProducer<byte[], byte[]>> setUp, Duration closeTimeout) {
        this.config = config;
        this.setUp = setUp;
        this.closeTimeout = closeTimeout;
    }

    /** The producer, created (and set up) now if there is none. */
    KafkaProducer<byte[], byte[]> producer() {
        if (producer == null) {
            KafkaProducer<byte[], byte[]> created = new KafkaProducer<>(config);
            try {
                setUp.accept(created);
            } catch (RuntimeException e) {
                created.close(Duration.ZERO);
                throw e;
            }
            producer = created;
            recordsSent = null;
        }
        return producer;
    }

    /**
     * Records the current producer has drained for sending ({@code record-send-total}): the ones
     * that may have reached Kafka. NaN without a producer or without the metric. The metric is
     * looked up once per producer, not on every call (a scan of a few hundred metrics).
     */
    double recordsSent() {
        if (producer == null) {
            return Double.NaN;
        }
        if (recordsSent == null) {
            for (Map.Entry<MetricName, ? extends Metric> e : producer.metrics().entrySet()) {
                if (e.getKey().name().equals("record-send-total") && e.getKey().group().equals("producer-metrics")) {
                    recordsSent = e.getValue();
                    break;
                }
            }
            if (recordsSent == null) {
                return Double.NaN;
            }
        }
        return ((Number) recordsSent.metricValue()).doubleValue();
    }

    /** Closes the producer without waiting: batches it has not sent are aborted, not sent. */
    void discard() {
        if (producer != null) {
            producer.close(Duration.ZERO);
            producer = null;
            recordsSent = null;
        }
    }

    /** Closes the producer, letting what it holds go out (up to the close timeout). */
    void close() {
        if (producer != null) {
            producer.close(closeTimeout);
            producer = null;
            recordsSent = null;
        }
    }
}
