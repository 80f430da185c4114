package io.moose.flows.admin;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DlqCommandsTest {

    private static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");

    @Test
    void sinceTakesAnInstantOrAnAgeBeforeNow() {
        assertEquals("2026-12-02T10:00:00Z", DlqCommands.since("2026-12-02T10:00:00Z", NOW));
        assertEquals("2026-12-02T10:30:00Z", DlqCommands.since("90m", NOW));
        assertEquals("2026-12-02T10:00:00Z", DlqCommands.since("2h", NOW));
        assertEquals("2026-12-01T12:00:00Z", DlqCommands.since("1d", NOW));
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> DlqCommands.since("yesterday", NOW));
        assertTrue(refused.getMessage().startsWith("--since: expected an ISO-8601 instant"), refused.getMessage());
    }

    @Test
    void limitAndSinceGoOnlyWithTheirCommandsAndAMalformedSinceIsAUsageError() {
        assertEquals(AdminCli.USAGE, AdminCliRunner.run("flows", "--limit", "3").status());
        assertEquals(AdminCli.USAGE, AdminCliRunner.run("dlq", "F", "--since", "1h").status());
        AdminCliRunner.Result bad = AdminCliRunner.run("replay", "F", "--since", "soon");
        assertEquals(AdminCli.USAGE, bad.status());
        assertTrue(bad.err().contains("--since: expected an ISO-8601 instant"), bad.err());
        assertEquals(AdminCli.UNREACHABLE, AdminCliRunner.run("--url", "http://127.0.0.1:1", "dlq", "F").status());
    }
}
