package io.moose.flows.chaos;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The schedule of a chaos run, a pure function of its seed, duration, node count and fault kinds,
 * so the same arguments replay the same scenario: when the full definition (migrations) and the
 * backfill are applied, and which fault hits which node when, for how long. The first fault is due
 * just after the migrations start, so it lands while they load history.
 */
public record FaultPlan(Duration applyAt, Duration backfillAt, List<Planned> faults) {

    /** One fault: due at {@code at} after the load started; {@code node} 1-based (0 = not node-specific). */
    public record Planned(FaultKind kind, Duration at, int node, Duration downtime) {
        public String describe() {
            String target = node > 0 ? " node " + node : "";
            String down = downtime.isZero() ? "" : " for " + downtime.toSeconds() + "s";
            return kind.cliName() + target + down;
        }
    }

    public static FaultPlan of(long seed, Duration duration, int nodes, Set<FaultKind> kinds) {
        Random random = new Random(seed);
        long total = duration.toMillis();
        long applyAt = Math.max(10_000, total * 15 / 100);
        long backfillAt = Math.max(applyAt + 5_000, total * 45 / 100);
        List<FaultKind> order = new ArrayList<>(kinds);
        Collections.shuffle(order, random);

        List<Planned> faults = new ArrayList<>();
        long first = applyAt + 2_000;
        long last = Math.max(first, total * 85 / 100);
        long slot = order.isEmpty() ? 0 : (last - first) / order.size();
        for (int i = 0; i < order.size(); i++) {
            FaultKind kind = order.get(i);
            long jitter = i == 0 || slot < 4 ? 0 : random.nextLong(Math.min(10_000, slot / 4));
            int node = switch (kind) {
                case KILL, PAUSE -> 1 + random.nextInt(nodes);
                default -> 0;
            };
            Duration downtime = Duration.ofSeconds(switch (kind) {
                case KILL -> 3 + random.nextInt(8);
                // The SBR downs a node unreachable for stable-after (6 s) plus failure detection;
                // well beyond that, the paused node is out of the cluster when it wakes up.
                case PAUSE -> 20 + random.nextInt(11);
                case KAFKA_RESTART -> random.nextInt(6);
                case CLICKHOUSE_DOWN, POSTGRES_DOWN -> 15 + random.nextInt(26);
                case ROLLING_RESTART -> 0;
                case STARVE -> 30 + random.nextInt(61);
                // One stall; the runner stalls the journal JOURNAL_STALLS times with as long between.
                case JOURNAL_STALL -> 2 + random.nextInt(5);
            });
            faults.add(new Planned(kind, Duration.ofMillis(first + i * slot + jitter), node, downtime));
        }
        return new FaultPlan(Duration.ofMillis(applyAt), Duration.ofMillis(backfillAt), List.copyOf(faults));
    }
}
