package io.moose.flows.sync;

import com.typesafe.config.ConfigFactory;
import io.moose.flows.flow.FlowSettings;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class TableSinkSettingsTest {

    @Test
    void everySettingHasADefaultInReferenceConf() {
        var config = ConfigFactory.load();
        TableSinkSettings sink = TableSinkSettings.from(config);
        FlowSettings flow = FlowSettings.from(config);
        assertEquals(50000, sink.batchSize());
        assertEquals(Duration.ofSeconds(1), sink.linger());
        assertEquals(Duration.ofMillis(100), flow.commitInterval());
        assertEquals(Duration.ofMillis(100), flow.minCommitInterval());
    }

    @Test
    void refusesABatchLargerThanOneAtomicClickhouseBlock() {
        var config = ConfigFactory.parseString("moose-flows.sync.batch-size = 2000000").withFallback(ConfigFactory.load());
        var error = assertThrows(IllegalArgumentException.class, () -> TableSinkSettings.from(config));
        assertEquals(true, error.getMessage().contains("moose-flows.sync.batch-size"));
    }
}
