package io.moose.flows.hop;

import akka.Done;
import akka.actor.Cancellable;
import akka.kafka.javadsl.Consumer;
import akka.stream.AbruptStageTerminationException;
import akka.stream.KillSwitches;
import akka.stream.Materializer;
import akka.stream.RestartSettings;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.duration.FiniteDuration;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The whole life of one hop's runs, in one place (as Kafka Streams keeps a task's states in one
 * state machine; the transitions are drawn on {@link HopState}). It starts a run, restarts a run
 * that failed with backoff (the hop resumes from committed offsets, a sink from its table's
 * high-water mark), drains the current run on stop, and ends for good when a run learns it was
 * fenced ({@link RunFencedException#reason}): it then tells its {@link HopOwner} and starts nothing,
 * because only the owner may decide that this node should run the hop again.
 *
 * <p>Every run is materialized on the owner's materializer: when the owner (a sharded entity) stops,
 * for whatever reason, its runs stop with it. One instance is started once; nothing is shared
 * between instances. Also keeps a status snapshot with rate and lag.
 */
public final class SupervisedHop {

    /** Builds one run of the hop. The source emits nothing the supervisor needs; progress goes through the context. */
    public interface RunFactory extends Function<HopContext, Source<?, ?>> {
    }

    private static final Logger log = LoggerFactory.getLogger(SupervisedHop.class);

    private final String owner;
    private final String hop;
    private final RestartSettings restart;
    private final Duration statusInterval;
    private final Duration stopTimeout;
    private final Supplier<CompletionStage<Long>> lagProbe;
    private final RunFactory factory;

    private final Counter processedCounter;
    private final Counter deadLetterCounter;
    private final Counter runsCounter;
    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong lag = new AtomicLong(-1);
    private final CompletableFuture<HopState> ended = new CompletableFuture<>();

    // Guarded by this. A run only moves the state while it is the current run.
    private HopState state = HopState.STOPPED;
    private final StartingRuns startingRuns;
    private boolean started;
    private HopOwner hopOwner;
    private Run current;
    private long runs;
    private int failuresInARow;
    private String lastError;
    private Cancellable pendingRestart;
    private Cancellable statusTicks;

    private volatile double perSecond;
    private long processedAtLastTick;
    private long lastTickNanos;

    /** One run: its number, the switch that cuts it off, and the consumer control that drains it. */
    private static final class Run {
        final long number;
        UniqueKillSwitch killSwitch;
        Consumer.Control control;

        Run(long number) {
            this.number = number;
        }
    }

    /**
     * @param lagProbe     records a reader of the hop's input would still get, asked every status interval
     * @param deadLetters  counter for records diverted by this hop (DLQ or invalid), or null to use the hop's own
     */
    public SupervisedHop(String owner, String hop, RestartSettings restart, Duration statusInterval, Duration stopTimeout,
                         MeterRegistry registry, Counter deadLetters, Supplier<CompletionStage<Long>> lagProbe,
                         RunFactory factory) {
        this.owner = owner;
        this.hop = hop;
        this.restart = restart;
        this.statusInterval = statusInterval;
        this.stopTimeout = stopTimeout;
        this.lagProbe = lagProbe;
        this.factory = factory;
        Tags tags = Tags.of("owner", owner, "hop", hop);
        this.processedCounter = Counter.builder("moose.hop.records").tags(tags)
                .description("Records a hop moved (produced or inserted)").register(registry);
        this.deadLetterCounter = deadLetters != null ? deadLetters
                : Counter.builder("moose.hop.diverted.records").tags(tags)
                .description("Records a hop diverted instead of moving them").register(registry);
        registry.gauge("moose.hop.lag", tags, lag);
        this.runsCounter = Counter.builder("moose.hop.runs").tags(tags)
                .description("Runs a hop started: its first, and one per restart").register(registry);
        this.startingRuns = StartingRuns.of(registry);
    }

    /** Every change of state goes through here, so the node's count of starting runs stays exact. */
    private void moveTo(HopState next) {
        if (state == HopState.STARTING && next != HopState.STARTING) {
            startingRuns.end();
        } else if (state != HopState.STARTING && next == HopState.STARTING) {
            startingRuns.begin();
        }
        state = next;
    }

    /** Starts the first run. A hop starts once: after it stopped or was fenced, its owner makes a new one. */
    public synchronized void start(HopOwner runOwner) {
        if (started) {
            return;
        }
        started = true;
        hopOwner = runOwner;
        lastTickNanos = System.nanoTime();
        processedAtLastTick = processed.get();
        statusTicks = runOwner.materializer().scheduleWithFixedDelay(finite(statusInterval), finite(statusInterval),
                this::refreshStatus);
        launch();
    }

    /** STARTING: materializes a new run on the owner's materializer (also when a backoff ran out). */
    private synchronized void launch() {
        pendingRestart = null;
        if (state == HopState.DRAINING || state.isFinal() && runs > 0) {
            return;
        }
        if (hopOwner.materializer().isShutdown()) {
            finish(HopState.STOPPED);
            return;
        }
        Run run = new Run(++runs);
        runsCounter.increment();
        // Current before it materializes: the run may hand over its control while it does.
        current = run;
        moveTo(HopState.STARTING);
        try {
            var materialized = factory.apply(new RunContext(run.number))
                    .viaMat(KillSwitches.single(), Keep.right())
                    .toMat(Sink.ignore(), Keep.both())
                    .run(hopOwner.materializer());
            run.killSwitch = materialized.first();
            materialized.second().whenComplete((done, error) -> runEnded(run, error));
        } catch (RuntimeException e) {
            // A run that cannot even be built or materialized failed like any other.
            runEnded(run, e);
        }
    }

    /** The current run ended: decides what comes next from the state and how the run ended. */
    private synchronized void runEnded(Run run, Throwable error) {
        if (current != run) {
            return;
        }
        current = null;
        if (state == HopState.DRAINING) {
            finish(HopState.STOPPED);
            return;
        }
        Optional<String> fenced = error == null ? Optional.empty() : RunFencedException.reason(error);
        if (fenced.isPresent()) {
            lastError = fenced.get();
            log.warn("{} {}: run {} was fenced, ending it for good and telling its owner: {}", owner, hop, run.number,
                    fenced.get());
            finish(HopState.FENCED);
            hopOwner.fenced().accept(owner + " " + hop + ": " + fenced.get());
            return;
        }
        if (error == null || error instanceof AbruptStageTerminationException || hopOwner.materializer().isShutdown()) {
            // Completed without being asked to, or its owner is gone: nothing to run it for.
            log.info("{} {}: run {} ended{}", owner, hop, run.number, error == null ? "" : " with its owner");
            finish(HopState.STOPPED);
            return;
        }
        lastError = error.getClass().getName() + ": " + error.getMessage();
        moveTo(HopState.RESTARTING);
        Duration backoff = backoff(failuresInARow++);
        log.warn("{} {}: run {} failed, restarting in {} ms: {}", owner, hop, run.number, backoff.toMillis(), error.toString());
        pendingRestart = hopOwner.materializer().scheduleOnce(finite(backoff), this::launch);
    }

    /** Exponential backoff between the restart settings' bounds, with their random factor. */
    private Duration backoff(int failures) {
        long min = restart.minBackoff().toMillis();
        long max = restart.maxBackoff().toMillis();
        double factor = 1 + ThreadLocalRandom.current().nextDouble() * restart.randomFactor();
        long millis = (long) Math.min(max, min * Math.pow(2, Math.min(failures, 30)) * factor);
        return Duration.ofMillis(millis);
    }

    private static FiniteDuration finite(Duration duration) {
        return FiniteDuration.create(duration.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** STOPPED or FENCED, for good. */
    private void finish(HopState finalState) {
        moveTo(finalState);
        if (statusTicks != null) {
            statusTicks.cancel();
        }
        if (pendingRestart != null) {
            pendingRestart.cancel();
            pendingRestart = null;
        }
        ended.complete(finalState);
    }

    /** A run reports that it is consuming: RUNNING, and its next failure backs off from the start again. */
    private synchronized void markRunning(long run) {
        Run now = current;
        if (now != null && now.number == run && state == HopState.STARTING) {
            moveTo(HopState.RUNNING);
            lastError = null;
            failuresInARow = 0;
        }
    }

    private synchronized void controlledBy(long run, Consumer.Control control) {
        Run now = current;
        if (now != null && now.number == run) {
            now.control = control;
        }
    }

    private void refreshStatus() {
        long now = System.nanoTime();
        long count = processed.get();
        double seconds = (now - lastTickNanos) / 1e9;
        if (seconds > 0) {
            perSecond = (count - processedAtLastTick) / seconds;
        }
        lastTickNanos = now;
        processedAtLastTick = count;
        try {
            lagProbe.get().whenComplete((value, error) -> {
                if (error == null) {
                    lag.set(value);
                }
            });
        } catch (RuntimeException e) {
            log.debug("{} {}: lag probe failed", owner, hop, e);
        }
    }

    /**
     * DRAINING: the current run stops consuming, finishes its in-flight transaction or insert,
     * commits and ends; completes when the hop is STOPPED (or was FENCED before). A run that does
     * not drain within the stop timeout, or one that is not consuming yet, is cut off; nothing is
     * lost then either, only redone by the next run.
     */
    public synchronized CompletionStage<Done> stop() {
        CompletionStage<Done> done = ended.thenApply(s -> Done.getInstance());
        if (!started) {
            started = true;
            finish(HopState.STOPPED);
            return done;
        }
        if (state.isFinal() || state == HopState.DRAINING) {
            return done;
        }
        moveTo(HopState.DRAINING);
        if (pendingRestart != null) {
            pendingRestart.cancel();
            pendingRestart = null;
        }
        Run run = current;
        if (run == null) {
            finish(HopState.STOPPED);
            return done;
        }
        Consumer.Control control = run.control;
        if (control == null) {
            run.killSwitch.shutdown();
        } else {
            control.stop();
            ended.toCompletableFuture().copy()
                    .orTimeout(stopTimeout.toMillis(), TimeUnit.MILLISECONDS)
                    .whenComplete((s, timedOut) -> {
                        if (timedOut != null) {
                            log.warn("{} {}: run {} did not drain within {}, cutting it off", owner, hop, run.number, stopTimeout);
                            run.killSwitch.abort(new IllegalStateException("did not drain within " + stopTimeout));
                        }
                    });
        }
        return done;
    }

    /** Fails the current run as a crash would, so it restarts with backoff (tests, and an operator's "kick"). */
    public void failCurrentRun(Throwable cause) {
        Run run;
        synchronized (this) {
            run = current;
        }
        if (run != null) {
            run.killSwitch.abort(cause);
        }
    }

    /** Completes with STOPPED or FENCED once the hop has ended for good. */
    public CompletionStage<HopState> whenEnded() {
        return ended;
    }

    public synchronized HopStatus status() {
        return new HopStatus(owner, hop, state, Optional.ofNullable(lastError),
                processed.get(), perSecond, lag.get(), deadLettered.get());
    }

    public String owner() {
        return owner;
    }

    public String hop() {
        return hop;
    }

    /** What one run reports; reports of a run that is no longer current move counters only. */
    private final class RunContext implements HopContext {
        private final long run;

        RunContext(long run) {
            this.run = run;
        }

        @Override
        public void ready() {
            markRunning(run);
        }

        @Override
        public void controlledBy(Consumer.Control control) {
            SupervisedHop.this.controlledBy(run, control);
        }

        @Override
        public void processed(long records) {
            processed.addAndGet(records);
            processedCounter.increment(records);
            markRunning(run);
        }

        @Override
        public void deadLettered(long records) {
            deadLettered.addAndGet(records);
            deadLetterCounter.increment(records);
        }
    }
}
