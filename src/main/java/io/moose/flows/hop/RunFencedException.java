package io.moose.flows.hop;

import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.common.errors.FencedInstanceIdException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;

import java.util.Optional;

/**
 * A run learned that another run of the same hop or sink took over: a newer table-sink run dropped
 * its ingress, or its consumer lost its group generation. A fenced run ends for good and tells its
 * owner; it never restarts itself (two runs restarting each other is how a busy cluster fenced
 * itself in a loop for minutes).
 */
public final class RunFencedException extends RuntimeException {

    public RunFencedException(String message) {
        super(message);
    }

    /**
     * Why {@code error} (or any of its causes) means the run was fenced, or empty when it is an
     * ordinary failure a restart may cure: Kafka's own fencing of a transactional producer
     * (a newer producer with the same transactional id, or an epoch bumped past it), an offset
     * commit refused to an old group generation, or a {@link RunFencedException}.
     */
    public static Optional<String> reason(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RunFencedException || t instanceof ProducerFencedException
                    || t instanceof InvalidProducerEpochException || t instanceof FencedInstanceIdException
                    || t instanceof CommitFailedException) {
                return Optional.of(t.getClass().getSimpleName() + ": " + t.getMessage());
            }
        }
        return Optional.empty();
    }
}
