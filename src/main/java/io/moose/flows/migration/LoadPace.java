package io.moose.flows.migration;

import java.time.Duration;

/**
 * The pace of an initial load under {@code migration.max-rows-per-second}: a chunk starts no sooner
 * than all rows sent before it allow, counted from the first chunk. Counted per chunk instead (a chunk
 * no sooner than its predecessor's rows' worth of time after it), every chunk slower than its share was
 * lost for good: 100,000 rows/s asked gave 78,000 (2026-12-03). A load more than {@code catchUp} behind
 * (a stall, a retry) starts counting again rather than making all of it up at full speed.
 * Times are {@link System#nanoTime()} values, passed in. Not thread-safe: the actor's.
 */
final class LoadPace {

    private final double rowsPerSecond;
    private final long catchUpNanos;
    /** Since when rows are counted; 0: no chunk yet. */
    private long origin;
    private long rows;

    /** {@code rowsPerSecond} 0 or less: no limit. */
    LoadPace(double rowsPerSecond, Duration catchUp) {
        this.rowsPerSecond = rowsPerSecond;
        this.catchUpNanos = catchUp.toNanos();
    }

    /** How long the next chunk must still wait at {@code now}; 0 or less: none. */
    long waitNanos(long now) {
        if (rowsPerSecond <= 0 || origin == 0) {
            return 0;
        }
        return origin + (long) (rows * 1_000_000_000.0 / rowsPerSecond) - now;
    }

    /** Counts a chunk's rows as it starts to be sent at {@code now}. */
    void sent(long chunkRows, long now) {
        if (rowsPerSecond <= 0) {
            return;
        }
        if (origin == 0 || -waitNanos(now) > catchUpNanos) {
            origin = now == 0 ? 1 : now;
            rows = 0;
        }
        rows += chunkRows;
    }
}
