package io.moose.flows.chaos;

import java.util.ArrayList;
import java.util.List;

/** What a chaos run did and found, rendered as plain text (console) or markdown (--report). */
public final class ChaosReport {

    /** One table's verification. */
    public record TableResult(String table, String expectedFrom, long expected, long unknownAllowed, long found,
                              long missing, long unexpected, long duplicateEventIds, long duplicateCoordinates,
                              long unknownArrived) {
        public boolean passed() {
            return missing == 0 && unexpected == 0 && duplicateEventIds == 0 && duplicateCoordinates == 0;
        }
    }

    /** One injected fault; times in seconds since the load started. */
    public record FaultResult(String fault, double plannedAt, double startedAt, double healedAt,
                              String ingestRecovery, String freshnessRecovery, String maxProbeLatency, String note) {
    }

    final List<String> header = new ArrayList<>();
    final List<String> timeline = new ArrayList<>();
    final List<FaultResult> faults = new ArrayList<>();
    final List<String> load = new ArrayList<>();
    final List<String> freshness = new ArrayList<>();
    final List<TableResult> tables = new ArrayList<>();
    final List<String> status = new ArrayList<>();
    final List<String> failures = new ArrayList<>();

    public boolean passed() {
        return failures.isEmpty();
    }

    public List<String> failures() {
        return List.copyOf(failures);
    }

    public List<TableResult> tables() {
        return List.copyOf(tables);
    }

    public String text() {
        return render(false);
    }

    public String markdown() {
        return render(true);
    }

    private String render(boolean md) {
        StringBuilder out = new StringBuilder();
        out.append(md ? "# Chaos run: " : "=== chaos run: ").append(passed() ? "PASSED" : "FAILED").append(md ? "\n\n" : " ===\n");
        bullets(out, header, md);
        section(out, "Timeline", md);
        bullets(out, timeline, md);
        section(out, "Faults (times in s since the load started; recovery measured from the fault's start)", md);
        List<List<String>> rows = new ArrayList<>();
        for (FaultResult f : faults) {
            rows.add(List.of(f.fault(), fmt(f.plannedAt()), fmt(f.startedAt()), fmt(f.healedAt()), f.ingestRecovery(),
                    f.freshnessRecovery(), f.maxProbeLatency(), f.note()));
        }
        table(out, List.of("fault", "planned", "started", "healed", "ingest ok again", "freshness back", "max probe latency", "note"), rows, md);
        // Points in time, not durations: one slow marker late in a long fault reads as a late recovery.
        out.append(md ? "\n" : "  ").append(String.format("ingest ok again: when the last freshness marker of the fault's window that"
                + " took over %.0f s to be accepted was accepted (sent, if it never was), from the fault's start; freshness back: the same"
                + " for markers over %.0f s late into the table. \"never disrupted\" / \"never stale\": no such marker.%n",
                ChaosRunner.PROMPT_INGEST_MS / 1000.0, ChaosRunner.FRESH_MS / 1000.0));
        section(out, "Load", md);
        bullets(out, load, md);
        section(out, "Freshness probe (marker into UserActivity 0.0 every second, timed into table UserActivity_0_0)", md);
        bullets(out, freshness, md);
        section(out, "Tables", md);
        rows = new ArrayList<>();
        for (TableResult t : tables) {
            rows.add(List.of(t.table(), t.expectedFrom(), String.valueOf(t.expected()), String.valueOf(t.unknownAllowed()),
                    String.valueOf(t.found()), String.valueOf(t.missing()), String.valueOf(t.unexpected()),
                    String.valueOf(t.duplicateEventIds()), String.valueOf(t.duplicateCoordinates()),
                    String.valueOf(t.unknownArrived()), t.passed() ? "ok" : "FAIL"));
        }
        table(out, List.of("table", "expected = accepted into", "expected", "unknown (0..1 each)", "found", "missing",
                "unexpected", "dup eventIds", "dup coordinates", "unknown arrived", "verdict"), rows, md);
        section(out, "Flows and migrations", md);
        bullets(out, status, md);
        section(out, "Verdict", md);
        bullets(out, failures.isEmpty() ? List.of("PASSED: no loss, no duplicates") : failures.stream().map(f -> "FAIL: " + f).toList(), md);
        return out.toString();
    }

    private static String fmt(double seconds) {
        return seconds < 0 ? "-" : String.format("%.1f", seconds);
    }

    private static void section(StringBuilder out, String title, boolean md) {
        out.append(md ? "\n## " : "\n--- ").append(title).append(md ? "\n\n" : " ---\n");
    }

    private static void bullets(StringBuilder out, List<String> lines, boolean md) {
        for (String line : lines) {
            out.append(md ? "- " : "  ").append(line).append('\n');
        }
    }

    private static void table(StringBuilder out, List<String> headers, List<List<String>> rows, boolean md) {
        if (md) {
            out.append("| ").append(String.join(" | ", headers)).append(" |\n|");
            headers.forEach(h -> out.append("---|"));
            out.append('\n');
            rows.forEach(r -> out.append("| ").append(String.join(" | ", r)).append(" |\n"));
            return;
        }
        int[] widths = new int[headers.size()];
        for (int i = 0; i < widths.length; i++) {
            widths[i] = headers.get(i).length();
            for (List<String> r : rows) {
                widths[i] = Math.max(widths[i], r.get(i).length());
            }
        }
        List<List<String>> all = new ArrayList<>();
        all.add(headers);
        all.addAll(rows);
        for (List<String> r : all) {
            StringBuilder line = new StringBuilder("  ");
            for (int i = 0; i < widths.length; i++) {
                line.append(String.format("%-" + widths[i] + "s", r.get(i))).append(i + 1 < widths.length ? "  " : "");
            }
            out.append(line.toString().stripTrailing()).append('\n');
        }
    }
}
