package io.moose.flows.chaos;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.EnumSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FaultPlanTest {

    @Test
    void starveAndJournalStallAreNamedOnTheCommandLineAndPartOfAll() {
        assertEquals(EnumSet.of(FaultKind.STARVE, FaultKind.JOURNAL_STALL), FaultKind.parseList("starve,journal-stall"));
        assertTrue(FaultKind.parseList("all").containsAll(EnumSet.of(FaultKind.STARVE, FaultKind.JOURNAL_STALL)));
    }

    @Test
    void starvationLastsThirtyToNinetySecondsAndTheSameSeedReplaysTheSamePlan() {
        for (long seed = 0; seed < 50; seed++) {
            FaultPlan plan = FaultPlan.of(seed, Duration.ofMinutes(10), 3, EnumSet.allOf(FaultKind.class));
            assertEquals(plan, FaultPlan.of(seed, Duration.ofMinutes(10), 3, EnumSet.allOf(FaultKind.class)));
            FaultPlan.Planned starve = plan.faults().stream().filter(f -> f.kind() == FaultKind.STARVE).findFirst().orElseThrow();
            long seconds = starve.downtime().toSeconds();
            assertTrue(seconds >= 30 && seconds <= 90, "seed " + seed + ": starve for " + seconds + " s");
            assertEquals(0, starve.node(), "starvation takes the cores from every node");
            assertEquals(EnumSet.allOf(FaultKind.class).size(), plan.faults().size());
        }
    }
}
