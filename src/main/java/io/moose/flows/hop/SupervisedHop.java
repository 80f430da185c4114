package io.moose.flows.hop;

import akka.Done;
import akka.NotUsed;
import akka.actor.Cancellable;
import akka.actor.ClassicActorSystemProvider;
import akka.kafka.javadsl.Consumer;
import akka.stream.KillSwitches;
import akka.stream.RestartSettings;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Runs one hop's stream under supervision: a failed run restarts with backoff (the hop resumes from
 * committed offsets, or a sink from its table's high-water mark), a stop drains the current run so
 * its last transaction or insert completes, and a status snapshot with rate and lag is kept.
 * One instance per hop and runner; nothing is shared between instances.
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
    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong deadLettered = new AtomicLong();
    private final AtomicLong lag = new AtomicLong(-1);
    private final AtomicReference<HopState> state = new AtomicReference<>(HopState.STOPPED);
    private final AtomicReference<String> lastError = new AtomicReference<>();
    private final AtomicReference<Consumer.Control> control = new AtomicReference<>();
    private final AtomicReference<UniqueKillSwitch> runKillSwitch = new AtomicReference<>();

    private volatile boolean stopping;
    private volatile double perSecond;
    private long processedAtLastTick;
    private long lastTickNanos;
    private UniqueKillSwitch killSwitch;
    private CompletionStage<Done> completion = CompletableFuture.completedFuture(Done.getInstance());
    private Cancellable statusTicks;

    /**
     * @param lagProbe     end offsets minus committed offsets of the hop's input, asked every status interval
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
    }

    public synchronized void start(ClassicActorSystemProvider system) {
        if (state.get() != HopState.STOPPED) {
            return;
        }
        stopping = false;
        lastError.set(null);
        state.set(HopState.STARTING);
        Source<Object, NotUsed> supervised = RestartSource.onFailuresWithBackoff(restart, this::oneRun);
        var materialized = supervised
                .viaMat(KillSwitches.single(), Keep.right())
                .toMat(Sink.ignore(), Keep.both())
                .run(system);
        killSwitch = materialized.first();
        completion = materialized.second().whenComplete((done, error) -> {
            control.set(null);
            state.set(HopState.STOPPED);
            if (error != null) {
                log.error("{} {}: stopped by an error the supervisor could not handle", owner, hop, error);
            }
        });
        lastTickNanos = System.nanoTime();
        processedAtLastTick = processed.get();
        var scheduler = system.classicSystem().scheduler();
        statusTicks = scheduler.scheduleWithFixedDelay(statusInterval, statusInterval, this::refreshStatus,
                system.classicSystem().dispatcher());
    }

    private Source<Object, ?> oneRun() {
        if (stopping) {
            return Source.empty();
        }
        HopContext context = new HopContext() {
            @Override
            public void ready() {
                markRunning();
            }

            @Override
            public void controlledBy(Consumer.Control c) {
                control.set(c);
            }

            @Override
            public void processed(long records) {
                processed.addAndGet(records);
                processedCounter.increment(records);
                markRunning();
            }

            @Override
            public void deadLettered(long records) {
                deadLettered.addAndGet(records);
                deadLetterCounter.increment(records);
            }
        };
        @SuppressWarnings("unchecked")
        Source<Object, ?> run = (Source<Object, ?>) factory.apply(context);
        return run.viaMat(KillSwitches.single(), (mat, runSwitch) -> {
            runKillSwitch.set(runSwitch);
            return mat;
        }).watchTermination((mat, done) -> {
            done.whenComplete((d, error) -> {
                control.set(null);
                if (error != null && !stopping) {
                    lastError.set(error.getClass().getName() + ": " + error.getMessage());
                    state.set(HopState.RESTARTING);
                    log.warn("{} {}: run failed, restarting with backoff: {}", owner, hop, error.toString());
                }
            });
            return mat;
        });
    }

    private void markRunning() {
        if (!stopping && state.get() != HopState.RUNNING) {
            state.set(HopState.RUNNING);
            lastError.set(null);
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
     * Drains the current run (stop consuming, finish the in-flight transaction or insert, commit)
     * and completes when the hop has stopped. A run that does not drain within the stop timeout,
     * or a hop waiting in backoff, is cut off; nothing is lost then either, only redone by the next start.
     */
    public synchronized CompletionStage<Done> stop() {
        if (state.get() == HopState.STOPPED || killSwitch == null) {
            return completion;
        }
        stopping = true;
        state.set(HopState.STOPPED);
        if (statusTicks != null) {
            statusTicks.cancel();
        }
        Consumer.Control current = control.get();
        UniqueKillSwitch cutOff = killSwitch;
        // A copy: the timeout below must not complete the hop's own completion.
        CompletableFuture<Done> drained = completion.toCompletableFuture().thenApply(d -> d);
        if (current == null) {
            cutOff.shutdown();
        } else {
            current.stop();
            drained.completeOnTimeout(Done.getInstance(), stopTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        CompletionStage<Done> finished = drained
                .handle((d, e) -> {
                    cutOff.shutdown();
                    return current == null ? CompletableFuture.completedFuture(Done.getInstance()) : current.shutdown();
                })
                .thenCompose(s -> s)
                .exceptionally(e -> Done.getInstance())
                .thenCompose(d -> completion.exceptionally(e -> Done.getInstance()));
        return finished;
    }

    /** Fails the current run as a crash would, so it restarts with backoff (tests, and an operator's "kick"). */
    public void failCurrentRun(Throwable cause) {
        UniqueKillSwitch current = runKillSwitch.get();
        if (current != null) {
            current.abort(cause);
        }
    }

    public HopStatus status() {
        return new HopStatus(owner, hop, state.get(), Optional.ofNullable(lastError.get()),
                processed.get(), perSecond, lag.get(), deadLettered.get());
    }

    public String owner() {
        return owner;
    }

    public String hop() {
        return hop;
    }
}
