package io.moose.flows.flow;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FlowSettingsTest {

    @Test
    void loweringCommitIntervalAloneCapsItsFloorInsteadOfRefusingToStart() {
        // The CI run of b242779: the data-plane bench set commit-interval = 10ms, the node refused to
        // start because min-commit-interval (100ms) exceeded it, and the bench hung for 5 minutes.
        var config = ConfigFactory.parseString("moose-flows.flow.commit-interval = 10ms").withFallback(ConfigFactory.load());
        FlowSettings flow = FlowSettings.from(config);
        assertEquals(Duration.ofMillis(10), flow.commitInterval());
        assertEquals(Duration.ofMillis(10), flow.minCommitInterval());
    }

    @Test
    void aFloorBelowTheIntervalIsKept() {
        var config = ConfigFactory.parseString("moose-flows.flow { commit-interval = 1s, min-commit-interval = 30ms }")
                .withFallback(ConfigFactory.load());
        FlowSettings flow = FlowSettings.from(config);
        assertEquals(Duration.ofSeconds(1), flow.commitInterval());
        assertEquals(Duration.ofMillis(30), flow.minCommitInterval());
    }
}
