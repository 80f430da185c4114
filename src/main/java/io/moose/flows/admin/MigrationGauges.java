package io.moose.flows.admin;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.moose.flows.migration.MigrationActor;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Migration progress as gauges ({@code moose_migration_rows_loaded}, {@code moose_migration_rows_to_load},
 * {@code moose_migration_done}, tagged by flow), refreshed whenever admin reads progress: on every
 * {@code GET /metrics} scrape and every {@code GET /migrations}.
 *
 * <p>Why on read rather than a periodic poll or from inside the migration actor: a scrape then always
 * sees values as fresh as the ask can make them, nothing polls the cluster when nobody looks, and the
 * values follow a migration when its shard moves (a gauge kept by the actor would stay behind,
 * stale, on the node it left). The values are cluster wide, so every node reports the same ones:
 * aggregate across instances with {@code max by (flow)}, never {@code sum}.
 */
final class MigrationGauges {

    private final MeterRegistry registry;
    private final Map<String, Values> byFlow = new ConcurrentHashMap<>();

    private record Values(AtomicLong loaded, AtomicLong toLoad, AtomicLong done) {
    }

    MigrationGauges(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Migrations that did not answer keep their last known values. */
    void update(List<MigrationActor.Progress> progress) {
        for (MigrationActor.Progress p : progress) {
            if (ClusterStatus.UNKNOWN.equals(p.phase())) {
                continue;
            }
            Values values = byFlow.computeIfAbsent(p.flowId(), this::register);
            values.loaded().set(p.rowsLoaded());
            values.toLoad().set(p.rowsToLoad());
            values.done().set("done".equals(p.phase()) ? 1 : 0);
        }
    }

    private Values register(String flowId) {
        Values values = new Values(new AtomicLong(), new AtomicLong(), new AtomicLong());
        Gauge.builder("moose.migration.rows.loaded", values.loaded(), AtomicLong::get).tag("flow", flowId)
                .description("Rows of the initial load written to the flow's input topic").register(registry);
        Gauge.builder("moose.migration.rows.to.load", values.toLoad(), AtomicLong::get).tag("flow", flowId)
                .description("Rows below the cut the initial load has to write").register(registry);
        Gauge.builder("moose.migration.done", values.done(), AtomicLong::get).tag("flow", flowId)
                .description("1 once the initial load has passed the cut").register(registry);
        return values;
    }
}
