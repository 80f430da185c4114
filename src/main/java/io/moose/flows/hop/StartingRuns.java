package io.moose.flows.hop;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many runs of this node are starting (a hop or sink between its start and consuming, a
 * migration flow waiting for its cut), one count per node (per meter registry), also the gauge
 * {@code moose_node_runs_starting}. A node that has just joined starts every entity its shards
 * bring at once; readiness waits until that burst is over ({@code node.ReadinessCheck}), so the
 * first ingest requests do not compete with it (issue 16: 1.1 s for a first request in the middle
 * of it, on a busy host).
 */
public final class StartingRuns {

    private static final Map<MeterRegistry, StartingRuns> BY_REGISTRY = Collections.synchronizedMap(new WeakHashMap<>());

    private final AtomicInteger starting = new AtomicInteger();
    private volatile long lastChangeNanos = System.nanoTime();

    private StartingRuns() {
    }

    public static StartingRuns of(MeterRegistry registry) {
        return BY_REGISTRY.computeIfAbsent(registry, r -> {
            StartingRuns runs = new StartingRuns();
            Gauge.builder("moose.node.runs.starting", runs.starting, AtomicInteger::get)
                    .description("Runs of this node starting: hops and sinks not consuming yet, migration flows waiting for their cut")
                    .register(r);
            return runs;
        });
    }

    public void begin() {
        starting.incrementAndGet();
        lastChangeNanos = System.nanoTime();
    }

    public void end() {
        starting.decrementAndGet();
        lastChangeNanos = System.nanoTime();
    }

    public int starting() {
        return starting.get();
    }

    /** Nanoseconds since a run last began or ended starting. */
    public long quietNanos() {
        return System.nanoTime() - lastChangeNanos;
    }
}
