package io.moose.flows.migration;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoadPaceTest {

    private static final long MS = 1_000_000;
    private static final long T0 = 5_000 * MS;

    @Test
    void noLimitNeverWaits() {
        LoadPace pace = new LoadPace(0, Duration.ofSeconds(1));
        pace.sent(1_000_000, T0);
        assertTrue(pace.waitNanos(T0) <= 0);
    }

    @Test
    void firstChunkGoesAtOnceAndTheNextWaitsItsRowsWorthOfTime() {
        LoadPace pace = new LoadPace(1000, Duration.ofSeconds(1));
        assertTrue(pace.waitNanos(T0) <= 0, "nothing sent yet");
        pace.sent(100, T0);
        assertEquals(100 * MS, pace.waitNanos(T0));
        assertEquals(40 * MS, pace.waitNanos(T0 + 60 * MS));
    }

    @Test
    void aChunkSlowerThanItsShareIsMadeUpByTheNextWaitingLess() {
        LoadPace pace = new LoadPace(1000, Duration.ofSeconds(1));
        pace.sent(100, T0);
        // the second chunk could only start at 150 ms, 50 ms late
        pace.sent(100, T0 + 150 * MS);
        // counted from the first chunk: the third is due at 200 ms, 50 ms after the second, not 100
        assertEquals(50 * MS, pace.waitNanos(T0 + 150 * MS));
        // 300 rows in 300 ms: the rate asked, on average
        pace.sent(100, T0 + 200 * MS);
        assertEquals(300 * MS, pace.waitNanos(T0));
    }

    @Test
    void aLoadFarBehindStartsCountingAgainInsteadOfBurstingToCatchUp() {
        LoadPace pace = new LoadPace(1000, Duration.ofSeconds(1));
        pace.sent(100, T0);
        // a stall: the next chunk starts 5 s later, 4.9 s behind
        long late = T0 + 5_000 * MS;
        pace.sent(100, late);
        assertEquals(100 * MS, pace.waitNanos(late), "paced from the late chunk on");
    }

    @Test
    void aLoadBehindByLessThanTheCatchUpMakesItUp() {
        LoadPace pace = new LoadPace(1000, Duration.ofSeconds(1));
        pace.sent(100, T0);
        long late = T0 + 900 * MS; // 800 ms behind
        pace.sent(100, late);
        assertEquals(200 * MS - 900 * MS, pace.waitNanos(late), "the next chunk may go at once");
    }
}
