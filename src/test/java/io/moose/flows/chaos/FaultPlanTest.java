package io.moose.flows.chaos;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.EnumSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FaultPlanTest {

    @Test
    void starveLastsThirtyToNinetySecondsAndJournalStallAFewSecondsOnNoParticularNode() {
        for (long seed = 1; seed <= 50; seed++) {
            FaultPlan plan = FaultPlan.of(seed, Duration.ofMinutes(10), 3, EnumSet.of(FaultKind.STARVE, FaultKind.JOURNAL_STALL));
            assertEquals(2, plan.faults().size());
            for (FaultPlan.Planned fault : plan.faults()) {
                long seconds = fault.downtime().toSeconds();
                assertEquals(0, fault.node(), fault.describe());
                if (fault.kind() == FaultKind.STARVE) {
                    assertTrue(seconds >= 30 && seconds <= 90, fault.describe());
                } else {
                    assertTrue(seconds >= 2 && seconds <= 6, fault.describe());
                }
            }
        }
    }

    @Test
    void theNewFaultsAreSelectedByTheirCommandLineNamesAndByAll() {
        assertEquals(EnumSet.of(FaultKind.STARVE, FaultKind.JOURNAL_STALL), FaultKind.parseList("starve,journal-stall"));
        assertTrue(FaultKind.parseList("all").containsAll(EnumSet.of(FaultKind.STARVE, FaultKind.JOURNAL_STALL)));
    }
}
