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

    /**
     * The node's count; made (and its gauge registered) by the node's services at start, before any
     * scrape. The gauge is registered outside the map's lock: a scrape holds the registry's lock
     * while it reads the readiness gauge, which looks the count up here, so registering inside
     * the lock deadlocked the node (AlertRulesMatchNodeMetricsIT).
     */
    public static StartingRuns of(MeterRegistry registry) {
        StartingRuns runs = BY_REGISTRY.get(registry);
        if (runs != null) {
            return runs;
        }
        StartingRuns created = new StartingRuns();
        runs = BY_REGISTRY.putIfAbsent(registry, created);
        if (runs != null) {
            return runs;
        }
        Gauge.builder("moose.node.runs.starting", created.starting, AtomicInteger::get)
                .description("Runs of this node starting: hops and sinks not consuming yet, migration flows waiting for their cut")
                .register(registry);
        return created;
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
