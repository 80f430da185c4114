package io.moose.flows.clickhouse;

import com.clickhouse.client.ClickHouseException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.VersionRef;
import io.moose.flows.testing.Infra;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the client relies on where ClickHouse releases differ, on whichever ClickHouse the tests run
 * against: Debian's 18.16 in the default lane, current ClickHouse's engine in the lane of
 * {@code ops/test --clickhouse current} (docs/clickhouse-versions.md lists the differences).
 */
class ClickHouseVersionsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ModelVersion LONGS = ProjectDefinitionLoader.parse("""
            models = [{ name = L, versions = [
              { version = "1", columns = [{name = l, type = Int64}, {name = b, type = Boolean}], order-by = [l] }
            ]}]
            flows = []
            """, "test").version(VersionRef.parse("L/1")).orElseThrow();

    private ClickHouse clickhouse;

    @BeforeEach
    void connect() {
        clickhouse = ClickHouse.connect(new ClickHouseSettings(Infra.get().clickhouseUrl(), Infra.uniqueName("chv"), "default", "",
                Duration.ofSeconds(60), Duration.ofSeconds(10), 4));
        clickhouse.createDatabaseIfMissing().toCompletableFuture().join();
    }

    @AfterEach
    void dropDatabase() {
        clickhouse.execute("DROP DATABASE IF EXISTS " + ClickHouse.quote(clickhouse.database())).toCompletableFuture().join();
        clickhouse.close();
    }

    @Test
    void theClickHouseLaneRunsOnACurrentRelease() {
        int major = ClickHouse.majorVersion(one("SELECT version()"));
        if ("current".equals(System.getenv("MOOSE_TEST_CLICKHOUSE"))) {
            assertTrue(major >= 26, "ops/test --clickhouse current ran on ClickHouse " + major);
        } else {
            assertTrue(major >= 18, "ClickHouse " + major);
        }
    }

    @Test
    void sixtyFourBitIntegersReadBackAsTheModelsNumbersWhetherTheServerQuotesThemOrNot() throws Exception {
        String table = clickhouse.qualified("longs");
        clickhouse.execute(TableSchema.createStatement(table, LONGS)).toCompletableFuture().join();
        List<Long> values = List.of(Long.MIN_VALUE, -1L, 0L, 9_007_199_254_740_993L, Long.MAX_VALUE);
        StringBuilder rows = new StringBuilder();
        for (int i = 0; i < values.size(); i++) {
            rows.append("{\"l\":").append(values.get(i)).append(",\"b\":").append(i % 2)
                    .append(",\"_src_topic\":\"t\",\"_src_partition\":0,\"_src_offset\":").append(i).append("}\n");
        }
        clickhouse.insertJsonEachRow("longs", rows.toString().getBytes(StandardCharsets.UTF_8)).toCompletableFuture().join();

        List<Long> read = new ArrayList<>();
        List<Boolean> flags = new ArrayList<>();
        RowDecoder decoder = new RowDecoder(LONGS);
        try (ClickHouse.TabSeparatedStream stream = clickhouse.streamTabSeparated("SELECT l, b FROM " + table + " ORDER BY _src_offset",
                Map.of(), Duration.ofSeconds(30))) {
            while (stream.rows().next() >= 0) {
                String line = stream.rows().rawRow();
                JsonNode record = JSON.readTree(decoder.record(stream.rows()));
                assertTrue(record.get("l").isIntegralNumber(), line);
                read.add(record.get("l").asLong());
                flags.add(record.get("b").asBoolean());
            }
        }
        assertEquals(values, read);
        assertEquals(List.of(false, true, false, true, false), flags);
    }

    @Test
    void settingsSentWithOneQueryApplyToThatQueryOnly() throws Exception {
        String setting = "SELECT value FROM system.settings WHERE name = 'max_block_size'";
        try (ClickHouse.TabSeparatedStream stream = clickhouse.streamTabSeparated(setting, Map.of("max_block_size", "1234"), Duration.ofSeconds(30))) {
            assertEquals(1, stream.rows().next());
            assertEquals("1234", stream.rows().text(0));
        }
        assertNotEquals("1234", one(setting));
        // The initial load sends these two with its read (InitialLoad.readChunk); both releases take them as URL settings.
        try (ClickHouse.TabSeparatedStream stream = clickhouse.streamTabSeparated("SELECT 1 AS one",
                Map.of("max_bytes_before_external_sort", "1000000", "send_timeout", "30"), Duration.ofSeconds(30))) {
            assertEquals(1, stream.rows().next());
            assertEquals(1, stream.rows().longField(0));
        }
    }

    @Test
    void aFailedStatementFailsWithClickHousesErrorCodeAndText() {
        CompletionException failed = assertThrows(CompletionException.class,
                () -> clickhouse.query("SELECT * FROM " + clickhouse.qualified("missing")).toCompletableFuture().join());
        ClickHouseException cause = null;
        for (Throwable t = failed; t != null && cause == null; t = t.getCause()) {
            if (t instanceof ClickHouseException c) {
                cause = c;
            }
        }
        assertTrue(cause != null, failed.toString());
        assertEquals(60, cause.getErrorCode(), cause.getMessage());
        assertTrue(cause.getMessage().contains("Code: 60"), cause.getMessage());
    }

    @Test
    void dropTableWaitingDropsATableAndToleratesAMissingOneOnEveryRelease() {
        String table = clickhouse.qualified("dropped");
        clickhouse.execute("CREATE TABLE " + table + " (x UInt8) ENGINE = MergeTree() ORDER BY x").toCompletableFuture().join();
        clickhouse.execute("INSERT INTO " + table + " VALUES (1)").toCompletableFuture().join();
        clickhouse.dropTableWaiting("dropped").toCompletableFuture().join();
        assertEquals("0", one("EXISTS TABLE " + table));
        clickhouse.dropTableWaiting("dropped").toCompletableFuture().join();
        assertEquals("0", one("EXISTS TABLE " + table));
    }

    private String one(String sql) {
        return clickhouse.query(sql).toCompletableFuture().join().get(0).get(0);
    }
}
