package io.moose.flows.migration;

import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.TimerScheduler;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.SnapshotSelectionCriteria;
import akka.persistence.typed.RecoveryCompleted;
import akka.persistence.typed.javadsl.CommandHandler;
import akka.persistence.typed.javadsl.Effect;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehavior;
import akka.persistence.typed.javadsl.Recovery;
import akka.persistence.typed.javadsl.SignalHandler;
import io.moose.flows.CborSerializable;
import io.moose.flows.node.NodeContext;
import io.moose.flows.migration.InitialLoad.Cursor;
import io.moose.flows.migration.InitialLoad.Cut;
import io.moose.flows.model.FlowDefinition;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * The initial load of one migration (or backfill) flow, event sourced so it resumes from its last
 * checkpoint on whichever node takes the shard (design section 4). Phases:
 * NEW → WAITING (cut recorded, copy-in positioned, source table catching up to the cut)
 * → LOADING (chunks of table rows into the flow's input topic, one transaction and one event each)
 * → DONE. Nothing else pauses: table syncs and copy-in keep running throughout.
 */
public final class MigrationActor
        extends EventSourcedBehavior<MigrationActor.Command, MigrationActor.Event, MigrationActor.State> {

    public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Migration");

    public enum Phase { NEW, WAITING, LOADING, DONE }

    // ---- protocol

    public interface Command extends CborSerializable {
    }

    /** Asked by the flow before its copy-in starts; answered once the cut is recorded and the copy-in positioned. */
    public record EnsureCut(ActorRef<CutReady> replyTo) implements Command {
    }

    public record CutReady(String flowId) implements CborSerializable {
    }

    public record KeepAlive() implements Command {
    }

    public record GetProgress(ActorRef<Progress> replyTo) implements Command {
    }

    public record Stop() implements Command {
    }

    private record CutTaken(Cut cut) implements Command {
    }

    private record CopyInPositioned() implements Command {
    }

    private record CaughtUp(boolean caughtUp) implements Command {
    }

    private record Counted(long rows) implements Command {
    }

    private record ChunkRead(Chunk chunk, Map<Integer, Long> inputEnds) implements Command {
    }

    /** {@code inputEnds}: per partition the chunk wrote to, the offset after its last record. */
    private record ChunkSent(long chunkNo, Map<Integer, Long> inputEnds) implements Command {
    }

    private record PendingChecked(boolean committed) implements Command {
    }

    private record StepFailed(String step, Throwable error) implements Command {
    }

    private record Retry() implements Command {
    }

    /** What admin shows of a migration. */
    public record Progress(String flowId, String phase, long rowsToLoad, long rowsLoaded, double rowsPerSecond,
                           long etaSeconds, Map<String, Map<Integer, Long>> cut, String lastCheckpoint,
                           Instant checkpointAt, String lastError, String node) implements CborSerializable {
    }

    // ---- events and state

    public interface Event extends CborSerializable {
    }

    public record CutRecorded(Cut cut, Instant at) implements Event {
    }

    public record LoadStarted(long rowsToLoad, Instant at) implements Event {
    }

    /** Written before a chunk is sent: on recovery it says which rows might already be in Kafka. */
    public record ChunkStarted(long chunkNo, Cursor from, Cursor to, long rows, Map<Integer, Long> inputEnds) implements Event {
    }

    public record ChunkCommitted(long chunkNo, Cursor to, long rows, Instant at) implements Event {
    }

    public record LoadCompleted(Instant at) implements Event {
    }

    public record State(Phase phase, Cut cut, long rowsToLoad, long rowsLoaded, Cursor cursor, long nextChunk,
                        Optional<ChunkStarted> pending, Instant loadStartedAt, Instant checkpointAt)
            implements CborSerializable {

        static State initial() {
            return new State(Phase.NEW, null, 0, 0, Cursor.START, 0, Optional.empty(), null, null);
        }

        State apply(Event event) {
            if (event instanceof CutRecorded e) {
                return new State(Phase.WAITING, e.cut(), rowsToLoad, rowsLoaded, cursor, nextChunk, pending, loadStartedAt, e.at());
            } else if (event instanceof LoadStarted e) {
                return new State(Phase.LOADING, cut, e.rowsToLoad(), 0, Cursor.START, 0, Optional.empty(), e.at(), e.at());
            } else if (event instanceof ChunkStarted e) {
                return new State(phase, cut, rowsToLoad, rowsLoaded, cursor, e.chunkNo() + 1, Optional.of(e), loadStartedAt, checkpointAt);
            } else if (event instanceof ChunkCommitted e) {
                return new State(phase, cut, rowsToLoad, rowsLoaded + e.rows(), e.to(), nextChunk, Optional.empty(), loadStartedAt, e.at());
            } else if (event instanceof LoadCompleted e) {
                return new State(Phase.DONE, cut, rowsToLoad, rowsLoaded, cursor, nextChunk, Optional.empty(), loadStartedAt, e.at());
            }
            throw new IllegalArgumentException("unknown event " + event);
        }
    }

    // ---- behaviour

    public static Behavior<Command> create(String flowId, NodeContext node) {
        return Behaviors.setup(ctx -> {
            Optional<FlowDefinition> flow = node.currentDefinition().flow(flowId);
            if (flow.isEmpty() || !flow.get().loadsHistory()) {
                ctx.getLog().warn("Flow {} has no initial load in the project definition; stopping", flowId);
                return Behaviors.stopped();
            }
            return Behaviors.withTimers(timers -> new MigrationActor(ctx, timers, flow.get(), node));
        });
    }

    private final ActorContext<Command> ctx;
    private final TimerScheduler<Command> timers;
    private final FlowDefinition flow;
    private final InitialLoad load;
    private static final String THROTTLE_TIMER = "throttle";
    /** How far behind max-rows-per-second a load may catch up at full speed. */
    private static final Duration PACE_CATCH_UP = Duration.ofSeconds(1);

    private final int chunkSize;
    private final long chunkBytes;
    /** The next chunk, being read while the current one is sent, and the cursor it follows. */
    private CompletionStage<Chunk> readAhead;
    private Cursor readAheadFrom;
    /** When the chunk under way started to be sent, and when the read ahead of the next one started and ended (nanoTime). */
    private long sendStartedAt;
    private long readAheadStartedAt;
    private volatile long readAheadDoneAt;
    /** When a read that the load waits for (first chunk, after a retry) started. */
    private long readStartedAt;
    private final LoadPace pace;
    private final Duration pollInterval;
    private final Duration maxBackoff;
    private final List<ActorRef<CutReady>> waitingForCut = new ArrayList<>();
    private boolean copyInPositioned;
    private boolean stepInFlight;
    /**
     * When this incarnation started, and how long each step took until the load started (count, total
     * ms): logged with the cut. Used in the actor only: pipeToSelf applies its function to the result
     * when the adapted message is handled.
     */
    private final long startedAt = System.nanoTime();
    private final Map<String, long[]> stepsBeforeLoad = new java.util.LinkedHashMap<>();
    private boolean timingSteps = true;
    private String lastError = "";
    private int failures;

    private MigrationActor(ActorContext<Command> ctx, TimerScheduler<Command> timers, FlowDefinition flow, NodeContext node) {
        super(PersistenceId.of(node.names().persistenceType(ENTITY_KEY.name()), flow.id()));
        this.ctx = ctx;
        this.timers = timers;
        this.flow = flow;
        this.load = new InitialLoad(flow, node);
        this.chunkSize = node.config().getInt("moose-flows.migration.chunk-size");
        this.chunkBytes = node.config().getBytes("moose-flows.migration.chunk-bytes");
        this.pace = new LoadPace(node.config().getDouble("moose-flows.migration.max-rows-per-second"), PACE_CATCH_UP);
        this.pollInterval = node.config().getDuration("moose-flows.migration.poll-interval");
        this.maxBackoff = node.config().getDuration("moose-flows.flow.restart.max-backoff");
    }

    /**
     * Recovery reads the events only: no release ever saved a snapshot of this entity, and asking the
     * snapshot store first cost a PostgreSQL query each time the entity started, e.g. on the node its
     * shard moved to (issue 11: 1.4-28 s of recovery in a rolling restart on a loaded host).
     */
    @Override
    public Recovery recovery() {
        return Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none());
    }

    @Override
    public State emptyState() {
        return State.initial();
    }

    @Override
    public SignalHandler<State> signalHandler() {
        return newSignalHandlerBuilder()
                .onSignal(RecoveryCompleted.instance(), state -> {
                    timingSteps = state.phase() == Phase.NEW || state.phase() == Phase.WAITING;
                    timed("recovery", startedAt);
                    advance(state);
                })
                .onSignal(akka.actor.typed.PostStop.instance(), state -> load.close())
                .build();
    }

    @Override
    public CommandHandler<Command, Event, State> commandHandler() {
        return newCommandHandlerBuilder()
                .forAnyState()
                .onCommand(EnsureCut.class, (state, cmd) -> {
                    if (state.phase() != Phase.NEW && copyInPositioned) {
                        cmd.replyTo().tell(new CutReady(flow.id()));
                    } else {
                        waitingForCut.add(cmd.replyTo());
                        advance(state);
                    }
                    return Effect().none();
                })
                .onCommand(KeepAlive.class, (state, cmd) -> {
                    advance(state);
                    return Effect().none();
                })
                .onCommand(Retry.class, (state, cmd) -> {
                    advance(state);
                    return Effect().none();
                })
                .onCommand(GetProgress.class, (state, cmd) -> {
                    cmd.replyTo().tell(progress(state));
                    return Effect().none();
                })
                .onCommand(Stop.class, (state, cmd) -> Effect().stop())
                .onCommand(CutTaken.class, (state, cmd) -> {
                    long began = System.nanoTime();
                    return Effect().persist(new CutRecorded(cmd.cut(), Instant.now())).thenRun(s -> {
                        timed("journal the cut", began);
                        step("position copy-in", load.positionCopyIn(s.cut()), done -> new CopyInPositioned());
                    });
                })
                .onCommand(CopyInPositioned.class, (state, cmd) -> {
                    copyInPositioned = true;
                    if (state.phase() != Phase.DONE) {
                        // initTransactions while the source table catches up, not before the first send
                        load.prepareSend();
                    }
                    waitingForCut.forEach(r -> r.tell(new CutReady(flow.id())));
                    waitingForCut.clear();
                    return succeeded(state);
                })
                .onCommand(CaughtUp.class, (state, cmd) -> {
                    if (!cmd.caughtUp()) {
                        stepInFlight = false;
                        timers.startSingleTimer(new Retry(), pollInterval);
                        return Effect().none();
                    }
                    return Effect().none().thenRun(s -> {
                        // Everything below the cut is in the table now, so the first chunk's read (ClickHouse
                        // sorting what lies below the cut) may start beside the count and the LoadStarted
                        // write: it only reads, and the load picks it up as the chunk read ahead from the start.
                        if (readAhead == null) {
                            readAhead = firstRead(s.cut(), Cursor.START);
                            readAheadFrom = Cursor.START;
                        }
                        step("count rows", load.countRows(s.cut()), Counted::new);
                    });
                })
                .onCommand(Counted.class, (state, cmd) -> {
                    // where the time before the first chunk goes: one line, each step's duration
                    ctx.getLog().info("Migration {}: cut {} recorded, loading {} rows; {} ms since the entity started ({})", flow.id(),
                            state.cut().offsets(), cmd.rows(), millisSince(startedAt), stepTimes());
                    timingSteps = false;
                    stepsBeforeLoad.clear();
                    return Effect().persist(new LoadStarted(cmd.rows(), Instant.now())).thenRun(this::succeededThenAdvance);
                })
                .onCommand(ChunkRead.class, (state, cmd) -> {
                    if (cmd.chunk().isEmpty()) {
                        ctx.getLog().info("Migration {}: initial load done, {} rows", flow.id(), state.rowsLoaded());
                        return Effect().persist(new LoadCompleted(Instant.now())).thenRun(this::succeededThenAdvance);
                    }
                    ChunkStarted started = new ChunkStarted(state.nextChunk(), state.cursor(), cmd.chunk().last(),
                            cmd.chunk().size(), cmd.inputEnds());
                    ctx.getLog().info("Migration {}: chunk {} ({} rows) ready {} ms after it was asked for", flow.id(), started.chunkNo(),
                            started.rows(), millisSince(readStartedAt));
                    return Effect().persist(started).thenRun(s -> send(s.cut(), started, cmd.chunk()));
                })
                .onCommand(ChunkSent.class, this::committedThenNext)
                .onCommand(PendingChecked.class, (state, cmd) -> {
                    if (cmd.committed()) {
                        return commitPending(state);
                    }
                    ChunkStarted pending = state.pending().orElseThrow();
                    return Effect().none().thenRun(s -> step("resend chunk",
                            load.rereadChunk(s.cut(), pending.from(), pending.to())
                                    .thenCompose(chunk -> load.send(pending.chunkNo(), chunk)),
                            ends -> new ChunkSent(pending.chunkNo(), ends)));
                })
                .onCommand(StepFailed.class, (state, cmd) -> {
                    stepInFlight = false;
                    failures++;
                    lastError = cmd.step() + ": " + cmd.error().getMessage();
                    Duration backoff = pollInterval.multipliedBy(1L << Math.min(failures, 6));
                    Duration delay = backoff.compareTo(maxBackoff) > 0 ? maxBackoff : backoff;
                    ctx.getLog().warn("Migration {}: {} failed, retrying in {}: {}", flow.id(), cmd.step(), delay, cmd.error().toString());
                    timers.startSingleTimer(new Retry(), delay);
                    return Effect().none();
                })
                .build();
    }

    /** Sends a chunk whose start is persisted, and starts reading the next one meanwhile. */
    private void send(Cut cut, ChunkStarted started, Chunk chunk) {
        sendStartedAt = System.nanoTime();
        step("send chunk", load.send(started.chunkNo(), chunk), ends -> new ChunkSent(started.chunkNo(), ends));
        pace.sent(chunk.size(), System.nanoTime());
        readAheadStartedAt = System.nanoTime();
        readAheadDoneAt = 0;
        readAhead = load.readChunk(cut, started.to(), chunkSize, chunkBytes).thenApply(read -> {
            readAheadDoneAt = System.nanoTime();
            return read;
        });
        readAheadFrom = started.to();
    }

    /**
     * Checkpoints a sent chunk. When the next chunk is already read, its start is persisted in the
     * same atomic write and it is sent at once: one journal write and no read between two chunks.
     * Its {@code inputEnds} are where this chunk's records end: the next chunk's records lie above them.
     */
    private Effect<Event, State> committedThenNext(State state, ChunkSent sent) {
        ChunkStarted pending = state.pending().orElseThrow();
        ChunkCommitted committed = new ChunkCommitted(pending.chunkNo(), pending.to(), pending.rows(), Instant.now());
        Chunk next = readAheadDone(pending.to());
        long readAheadDone = readAheadDoneAt;
        // where a chunk's time goes: the send (records and commit) beside the read of the next chunk
        ctx.getLog().info("Migration {}: chunk {} ({} rows) sent and committed in {} ms; the next chunk {}", flow.id(),
                pending.chunkNo(), pending.rows(), millisSince(sendStartedAt),
                next == null ? "not read yet" : "read in " + (readAheadDone - readAheadStartedAt) / 1_000_000 + " ms");
        // Under migration.max-rows-per-second the next chunk waits its turn (commit, then a timer)
        // only when it is early; on time, it takes this one-write path too.
        if (next == null || next.isEmpty() || throttleWaitNanos() > 0) {
            return commitPending(state);
        }
        readAhead = null;
        Map<Integer, Long> ends = new java.util.TreeMap<>(pending.inputEnds());
        ends.putAll(sent.inputEnds());
        ChunkStarted started = new ChunkStarted(pending.chunkNo() + 1, pending.to(), next.last(), next.size(), ends);
        return Effect().persist(List.of(committed, started)).thenRun(s -> {
            failures = 0;
            lastError = "";
            send(s.cut(), started, next);
        });
    }

    /** A read the load has to wait for (the first, or after a restart): kept small, so sending starts soon. */
    private CompletionStage<Chunk> firstRead(Cut cut, Cursor from) {
        return load.readChunk(cut, from, chunkSize, Math.min(chunkBytes, InitialLoad.FIRST_CHUNK_BYTES));
    }

    /** The chunk read ahead from {@code from}, if that read has finished well. */
    private Chunk readAheadDone(Cursor from) {
        if (readAhead == null || !from.equals(readAheadFrom)) {
            return null;
        }
        java.util.concurrent.CompletableFuture<Chunk> read = readAhead.toCompletableFuture();
        return read.isDone() && !read.isCompletedExceptionally() ? read.join() : null;
    }

    private Effect<Event, State> commitPending(State state) {
        ChunkStarted pending = state.pending().orElseThrow();
        return Effect().persist(new ChunkCommitted(pending.chunkNo(), pending.to(), pending.rows(), Instant.now()))
                .thenRun(this::succeededThenAdvance);
    }

    private Effect<Event, State> succeeded(State state) {
        succeededThenAdvance(state);
        return Effect().none();
    }

    private void succeededThenAdvance(State state) {
        stepInFlight = false;
        failures = 0;
        lastError = "";
        advance(state);
    }

    /** Starts the next step of the load unless one is under way. */
    private void advance(State state) {
        if (stepInFlight) {
            return;
        }
        switch (state.phase()) {
            case NEW -> step("take cut", load.takeCut(), CutTaken::new);
            case WAITING -> {
                if (!copyInPositioned) {
                    step("position copy-in", load.positionCopyIn(state.cut()), done -> new CopyInPositioned());
                } else {
                    step("wait for source table", load.sourceCaughtUp(state.cut()), CaughtUp::new);
                }
            }
            case LOADING -> {
                if (!copyInPositioned) {
                    step("position copy-in", load.positionCopyIn(state.cut()), done -> new CopyInPositioned());
                } else if (state.pending().isPresent()) {
                    ChunkStarted pending = state.pending().get();
                    step("check pending chunk", load.chunkCommitted(pending.chunkNo(), pending.inputEnds()), PendingChecked::new);
                } else if (!throttled()) {
                    readStartedAt = System.nanoTime();
                    // the chunks read ahead while one is sent are full size
                    CompletionStage<Chunk> read = readAhead != null && state.cursor().equals(readAheadFrom)
                            ? readAhead : firstRead(state.cut(), state.cursor());
                    readAhead = null;
                    step("read chunk", read.thenCombine(load.inputEndOffsets(), ChunkRead::new), chunk -> chunk);
                }
            }
            case DONE -> {
                if (!copyInPositioned) {
                    step("position copy-in", load.positionCopyIn(state.cut()), done -> new CopyInPositioned());
                }
            }
        }
    }

    /**
     * Keeps the load under {@code migration.max-rows-per-second} (0 = unlimited, {@link LoadPace}), so a
     * backfill can be kept from crowding out live traffic on Kafka and ClickHouse.
     */
    private boolean throttled() {
        long wait = throttleWaitNanos();
        if (wait <= 0) {
            return false;
        }
        timers.startSingleTimer(THROTTLE_TIMER, new Retry(), Duration.ofNanos(wait));
        return true;
    }

    private long throttleWaitNanos() {
        return pace.waitNanos(System.nanoTime());
    }

    private static long millisSince(long nanoTime) {
        return (System.nanoTime() - nanoTime) / 1_000_000;
    }

    private <T> void step(String name, java.util.concurrent.CompletionStage<T> work, java.util.function.Function<T, Command> onSuccess) {
        stepInFlight = true;
        long began = System.nanoTime();
        ctx.pipeToSelf(work, (value, error) -> {
            timed(error != null ? name + " (failed)" : name, began);
            return error != null ? new StepFailed(name, unwrap(error)) : onSuccess.apply(value);
        });
    }

    /** Adds a step's time to the ones logged when the load starts (a step repeated, e.g. the wait for the source table, adds up). */
    private void timed(String step, long began) {
        if (timingSteps) {
            long millis = millisSince(began);
            stepsBeforeLoad.merge(step, new long[] {1, millis}, (a, b) -> new long[] {a[0] + 1, a[1] + b[1]});
        }
    }

    private String stepTimes() {
        return stepsBeforeLoad.entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue()[1] + " ms" + (e.getValue()[0] > 1 ? " (" + e.getValue()[0] + " times)" : ""))
                .collect(java.util.stream.Collectors.joining(", "));
    }

    private static Throwable unwrap(Throwable error) {
        Throwable e = error;
        while ((e instanceof java.util.concurrent.CompletionException || e instanceof java.util.concurrent.ExecutionException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    @Override
    public EventHandler<State, Event> eventHandler() {
        return (state, event) -> state.apply(event);
    }

    private Progress progress(State state) {
        // A finished load reports the rate it ran at, not one that decays with time since.
        Instant until = state.phase() == Phase.DONE ? state.checkpointAt() : Instant.now();
        double seconds = state.loadStartedAt() == null ? 0 : Duration.between(state.loadStartedAt(), until).toMillis() / 1000.0;
        double rate = seconds > 0 ? state.rowsLoaded() / seconds : 0;
        long remaining = Math.max(0, state.rowsToLoad() - state.rowsLoaded());
        long eta = state.phase() == Phase.DONE ? 0 : rate > 0 ? (long) Math.ceil(remaining / rate) : -1;
        return new Progress(flow.id(), state.phase().name().toLowerCase(), state.rowsToLoad(), state.rowsLoaded(), rate, eta,
                state.cut() == null ? Map.of() : state.cut().offsets(),
                state.cursor() == Cursor.START || state.cursor().partition() < 0 ? "" : state.cursor().toString(),
                state.checkpointAt(), lastError, ctx.getSystem().address().toString());
    }
}
