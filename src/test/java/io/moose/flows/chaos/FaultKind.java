package io.moose.flows.chaos;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/** The faults of design section 7 that the chaos runner injects, named as on the command line. */
public enum FaultKind {
    /** SIGKILL a node, then start it again. */
    KILL("kill"),
    /** SIGSTOP a node for longer than the failure detector and SBR take to down it, then SIGCONT. */
    PAUSE("pause"),
    /** Graceful restart of every node, one after the other. */
    ROLLING_RESTART("rolling-restart"),
    /** Stop and start the Kafka broker. */
    KAFKA_RESTART("kafka-restart"),
    /** ClickHouse stopped for a while. */
    CLICKHOUSE_DOWN("clickhouse-down"),
    /** PostgreSQL (the journal) stopped for a while. */
    POSTGRES_DOWN("postgres-down"),
    /** CPU burners (busy-loop processes) beside the nodes for 30-90 s: no node may be downed for it. */
    STARVE("starve"),
    /** PostgreSQL stopped for a few seconds, several times in a row (a journal that stalls now and then). */
    JOURNAL_STALL("journal-stall");

    private final String cliName;

    FaultKind(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** Parses {@code kill,pause,...}; {@code all} selects every kind, {@code none} none. */
    public static Set<FaultKind> parseList(String text) {
        String trimmed = text.trim();
        if (trimmed.equals("all")) {
            return EnumSet.allOf(FaultKind.class);
        }
        EnumSet<FaultKind> kinds = EnumSet.noneOf(FaultKind.class);
        if (trimmed.isEmpty() || trimmed.equals("none")) {
            return kinds;
        }
        for (String name : trimmed.split(",")) {
            String wanted = name.trim().toLowerCase(Locale.ROOT);
            kinds.add(Arrays.stream(values()).filter(k -> k.cliName.equals(wanted)).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("--faults: unknown fault '" + name + "'; expected all, none or a comma list of "
                            + Arrays.stream(values()).map(FaultKind::cliName).collect(Collectors.joining(", ")))));
        }
        return kinds;
    }
}
