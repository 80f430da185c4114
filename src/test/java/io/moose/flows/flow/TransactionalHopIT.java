package io.moose.flows.flow;

import akka.Done;
import akka.kafka.javadsl.Consumer;
import akka.stream.javadsl.Sink;
import io.moose.flows.hop.HopContext;
import io.moose.flows.kafka.KafkaClients;
import io.moose.flows.testing.DataPlaneFixture;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

import static io.moose.flows.testing.DataPlaneFixture.UA_0_0;
import static io.moose.flows.testing.DataPlaneFixture.await;
import static io.moose.flows.testing.DataPlaneFixture.join;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The transactional loop's own guarantees, on the real broker: drain on stop, fencing of a zombie
 * run, and when it commits (as soon as it has caught up, but a backlog in one transaction per interval).
 */
class TransactionalHopIT {

    private static final int RECORDS = 200;
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void aSecondRunWithTheSameTransactionalIdFencesTheFirstAndNothingIsCopiedTwice() {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            Copy copy = new Copy(dp, "fencing");
            Counts first = new Counts();
            CompletionStage<Done> firstDone = copy.firstRunOverTheFirstRecords(first);
            String from = copy.from;

            // As after a failover while the first run's node was only frozen: a new run, same ids.
            Counts second = new Counts();
            CompletionStage<Done> secondDone = copy.run(second);
            await("the second run owns the transactional id", TIMEOUT, () -> second.ready, second::toString);
            // Both read every partition (a run assigns itself all of them); the fenced first run learns
            // it is fenced when it next sends in a transaction, fails without committing, and ends.
            int partitions = dp.kafka.partitions();
            List<ProducerRecord<byte[], byte[]>> more = new ArrayList<>();
            for (int i = RECORDS; i < 2 * RECORDS; i++) {
                more.add(new ProducerRecord<>(from, i % partitions, null, DataPlaneFixture.userActivity(UA_0_0, i)));
            }
            dp.produce(from, more);
            await("the first run fenced off", TIMEOUT, () -> firstDone.toCompletableFuture().isCompletedExceptionally(),
                    () -> "first " + first + ", second " + second);
            await("the second run copied the rest", TIMEOUT, () -> second.processed.get() == RECORDS, second::toString);
            assertEquals(RECORDS, first.processed.get(), "the fenced run committed nothing more");
            join(second.control.stop());
            join(secondDone);

            List<ConsumerRecord<byte[], byte[]>> copied = dp.readAll(copy.to, 2 * RECORDS + 1, Duration.ofSeconds(5));
            Set<String> values = new HashSet<>();
            copied.forEach(r -> values.add(new String(r.value(), StandardCharsets.UTF_8)));
            assertEquals(2 * RECORDS, copied.size(), "committed records in the output");
            assertEquals(2 * RECORDS, values.size(), "each input copied once");
        }
    }

    @Test
    void stoppingARunCommitsWhatItCopiedAndTheNextRunStartsAfterIt() {
        try (DataPlaneFixture dp = new DataPlaneFixture().provision()) {
            Copy copy = new Copy(dp, "stop");
            Counts first = new Counts();
            CompletionStage<Done> firstDone = copy.firstRunOverTheFirstRecords(first);
            join(first.control.stop());
            join(firstDone);

            dp.produceUserActivity(UA_0_0, RECORDS, 2 * RECORDS);
            Counts second = new Counts();
            CompletionStage<Done> secondDone = copy.run(second);
            await("the second run copied only what came after", TIMEOUT, () -> second.processed.get() == RECORDS, second::toString);
            join(second.control.stop());
            join(secondDone);
            assertEquals(RECORDS, second.processed.get());
            assertEquals(2 * RECORDS, dp.readAll(copy.to, 2 * RECORDS + 1, Duration.ofSeconds(5)).size());
        }
    }

    /** Commit interval far beyond the test's timeout: only a commit on catching up can make the records visible in time. */
    private static final String NO_INTERVAL_COMMITS = "moose-flows.flow { commit-interval = 1h, min-commit-interval = 0ms, max-poll-records = 100 }";

    @Test
    void aRunThatHasReadEverythingCommitsWithoutWaitingOutTheCommitInterval() {
        try (DataPlaneFixture dp = new DataPlaneFixture(NO_INTERVAL_COMMITS).provision()) {
            Copy copy = new Copy(dp, "caught-up");
            Counts counts = new Counts();
            CompletionStage<Done> done = copy.run(counts);
            await("the run started", TIMEOUT, () -> counts.ready, counts::toString);
            for (int i = 0; i < 3; i++) {
                // Each trickle is committed on its own, with the run's transaction interval an hour away.
                dp.produceUserActivity(UA_0_0, i * RECORDS, (i + 1) * RECORDS);
                int expected = (i + 1) * RECORDS;
                await("the run committed what it has read", TIMEOUT, () -> counts.processed.get() == expected, counts::toString);
                assertEquals(expected, dp.readAll(copy.to, expected, TIMEOUT).size(), "committed records in the output");
            }
            join(counts.control.stop());
            join(done);
        }
    }

    @Test
    void aRunWorkingThroughABacklogCommitsItInOneTransactionNotOnePerPoll() {
        try (DataPlaneFixture dp = new DataPlaneFixture(NO_INTERVAL_COMMITS).provision()) {
            Copy copy = new Copy(dp, "backlog");
            int backlog = 50 * RECORDS;
            // Everything is in Kafka before the run starts: every poll (100 records) leaves more to read
            // until the last, so the run commits once, when it has caught up, not once per poll.
            dp.produceUserActivity(UA_0_0, 0, backlog);
            Counts counts = new Counts();
            CompletionStage<Done> done = copy.run(counts);
            await("the run committed the backlog", TIMEOUT, () -> counts.processed.get() == backlog, counts::toString);
            assertEquals(1, counts.commits.get(), "transactions committed for the backlog");
            join(counts.control.stop());
            join(done);
            assertEquals(backlog, dp.readAll(copy.to, backlog + 1, Duration.ofSeconds(5)).size());
        }
    }

    /** Copy hops from the UserActivity 0.0 ingestion topic into a topic of their own, all with the same ids. */
    private static final class Copy {
        final DataPlaneFixture dp;
        final String from;
        final String to;
        final String ids;
        final FlowHops hops;

        Copy(DataPlaneFixture dp, String ids) {
            this.dp = dp;
            this.from = dp.names.ingestionTopic(UA_0_0);
            this.to = from + "_copy";
            this.ids = ids;
            dp.createTopics(Set.of(to));
            this.hops = new FlowHops(dp.flowSettings, new KafkaClients(dp.system, dp.kafka), dp.system.executionContext());
        }

        CompletionStage<Done> run(Counts counts) {
            return hops.copy(ids + "-group", ids + "-tx", from, to, counts).runWith(Sink.ignore(), dp.system);
        }

        /** Starts a run, ingests the first records and waits until the run has committed them. */
        CompletionStage<Done> firstRunOverTheFirstRecords(Counts counts) {
            CompletionStage<Done> done = run(counts);
            dp.produceUserActivity(UA_0_0, 0, RECORDS);
            await("the first run copied the first records", TIMEOUT, () -> counts.processed.get() == RECORDS, counts::toString);
            return done;
        }
    }

    /** What a run reported: records committed, and its control. */
    private static final class Counts implements HopContext {
        final AtomicLong processed = new AtomicLong();
        /** Commits that reported records. */
        final AtomicLong commits = new AtomicLong();
        volatile Consumer.Control control;
        volatile boolean ready;

        @Override
        public void ready() {
            ready = true;
        }

        @Override
        public void controlledBy(Consumer.Control c) {
            control = c;
        }

        @Override
        public void processed(long records) {
            commits.incrementAndGet();
            processed.addAndGet(records);
        }

        @Override
        public void deadLettered(long records) {
        }

        @Override
        public String toString() {
            return processed.get() + " records committed in " + commits.get() + " transactions";
        }
    }
}
