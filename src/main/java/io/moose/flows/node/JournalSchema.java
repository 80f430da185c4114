package io.moose.flows.node;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.persistence.jdbc.testkit.javadsl.SchemaUtils;
import com.typesafe.config.Config;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The journal's tables, created in the background and retried with backoff until the database
 * answers. A node started while PostgreSQL is down or stalled keeps running and reports not ready
 * ({@link JournalReadinessCheck}) instead of failing its guardian (issue 11).
 */
public final class JournalSchema {

    private static final Logger LOG = LoggerFactory.getLogger(JournalSchema.class);

    private final CompletableFuture<Done> created = new CompletableFuture<>();
    private volatile String problem = "not created yet";

    private JournalSchema() {
    }

    /** Starts creating the tables (when moose-flows.journal.create-schema is on) and returns at once. */
    public static JournalSchema create(ActorSystem<?> system, Config config) {
        JournalSchema schema = new JournalSchema();
        if (!config.getBoolean("moose-flows.journal.create-schema")) {
            schema.created.complete(Done.getInstance());
            return schema;
        }
        Duration min = config.getDuration("moose-flows.journal.schema-retry.min-backoff");
        Duration max = config.getDuration("moose-flows.journal.schema-retry.max-backoff");
        schema.attempt(system, 1, min, max);
        return schema;
    }

    private void attempt(ActorSystem<?> system, int attempt, Duration backoff, Duration max) {
        CompletionStage<Done> done;
        try {
            done = SchemaUtils.createIfNotExists(system);
        } catch (RuntimeException e) {
            done = CompletableFuture.failedFuture(e);
        }
        done.whenComplete((ok, error) -> {
            if (error == null) {
                if (attempt > 1) {
                    LOG.info("Journal schema created at attempt {}", attempt);
                }
                created.complete(Done.getInstance());
                return;
            }
            problem = error.toString();
            LOG.warn("Could not create the journal schema (attempt {}), retrying in {} ms; not ready until then: {}",
                    attempt, backoff.toMillis(), problem);
            Duration next = backoff.multipliedBy(2).compareTo(max) > 0 ? max : backoff.multipliedBy(2);
            try {
                system.scheduler().scheduleOnce(backoff, () -> attempt(system, attempt + 1, next, max), system.executionContext());
            } catch (IllegalStateException terminated) {
                created.completeExceptionally(terminated);
            }
        });
    }

    /** Completes once the tables exist. */
    public CompletionStage<Done> created() {
        return created;
    }

    public boolean ready() {
        return created.isDone() && !created.isCompletedExceptionally();
    }

    /** Why the tables do not exist yet: the last attempt's error. */
    public String problem() {
        return problem;
    }
}
