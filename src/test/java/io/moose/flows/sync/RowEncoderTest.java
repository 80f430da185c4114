package io.moose.flows.sync;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.VersionRef;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RowEncoderTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final ProjectDefinition PROJECT = ProjectDefinitionLoader.parse("""
            models = [{ name = M, versions = [
              { version = "1", columns = [ {name = id, type = String}, {name = at, type = DateTime}, {name = ok, type = Boolean},
                                           {name = region, type = String, default = "unknown"}, {name = n, type = Int64, nullable = true} ],
                order-by = [id] }
            ]}]
            flows = []
            """, "test");
    private final RowEncoder encoder = new RowEncoder(PROJECT.version(VersionRef.parse("M/1")).orElseThrow(), JSON);

    @Test
    void writesEveryColumnInClickhouseFormsWithTheSourceCoordinates() throws Exception {
        byte[] line = encoder.encode("{\"id\":\"a\",\"at\":\"2024-01-31T12:00:05+01:00\",\"ok\":true}".getBytes(StandardCharsets.UTF_8),
                "topic", 2, 77);
        String text = new String(line, StandardCharsets.UTF_8);
        assertTrue(text.endsWith("\n"), "one JSONEachRow line");
        assertEquals(JSON.readTree("""
                {"id":"a","at":"2024-01-31 11:00:05","ok":1,"region":"unknown","n":null,
                 "_src_topic":"topic","_src_partition":2,"_src_offset":77}"""), JSON.readTree(text));
    }

    @Test
    void rejectsARecordThatIsNotValidForTheVersionNamingTheField() {
        var error = assertThrows(RowEncoder.InvalidRecordException.class,
                () -> encoder.encode("{\"id\":1}".getBytes(StandardCharsets.UTF_8), "t", 0, 0));
        assertTrue(error.getMessage().contains("'id'"), error.getMessage());
        assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encode("{oops".getBytes(StandardCharsets.UTF_8), "t", 0, 0));
        assertThrows(RowEncoder.InvalidRecordException.class, () -> encoder.encode(new byte[0], "t", 0, 0));
    }

    @Test
    void sinkStartsOneAboveTheHighWaterMarkOrAtTheBeginning() {
        var partitions = List.of(new TopicPartition("t", 0), new TopicPartition("t", 1));
        assertEquals(Map.of(partitions.get(0), 42L, partitions.get(1), 0L),
                TableSink.startOffsets(partitions, Map.of(0, 41L)));
    }

    @Test
    void watermarksParseClickhouseRows() {
        assertEquals(Map.of(0, 10L, 2, 5L), TableWatermarks.parse(List.of(List.of("0", "10"), List.of("2", "5"))));
    }
}
