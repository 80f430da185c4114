package io.moose.flows.sync;

import akka.stream.KillSwitches;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import io.moose.flows.kafka.KafkaClients;
import io.moose.flows.testing.DataPlaneFixture;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

class PolledBatchesIT {

    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(10);

    /**
     * A failed or aborted sink run cancels its stream, not {@code stop()}: on an idle topic the poll
     * loop used to go on for ever with its consumer open (one leaked thread and connection per
     * restart, found when a test's deleted topics made the leaked consumers log millions of warnings).
     */
    @Test
    void aCancelledRunOverAnIdleTopicClosesItsConsumer() throws Exception {
        try (DataPlaneFixture dp = new DataPlaneFixture()) {
            String topic = dp.names.ingestionTopic(DataPlaneFixture.UA_0_0);
            dp.createTopics(Set.of(topic));
            PolledBatches polled = new PolledBatches(new KafkaClients(dp.system, dp.kafka).consumer("polled-batches-it"),
                    Map.of(new TopicPartition(topic, 0), 0L), dp.sinkSettings.batchSize(), dp.sinkSettings.linger(),
                    dp.sinkSettings.pollTimeout());
            UniqueKillSwitch killSwitch = polled.source()
                    .viaMat(KillSwitches.single(), Keep.right())
                    .to(Sink.ignore())
                    .run(dp.system);
            // a few polls of nothing: the run is idle, as a sink on a quiet topic is
            Thread.sleep(dp.sinkSettings.pollTimeout().multipliedBy(3).toMillis());

            killSwitch.abort(new IllegalStateException("the run failed"));

            assertTrue(closedWithin(polled, CLOSE_TIMEOUT), "the cancelled run's consumer was not closed within " + CLOSE_TIMEOUT);
        }
    }

    private static boolean closedWithin(PolledBatches polled, Duration timeout) {
        try {
            polled.isShutdown().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
