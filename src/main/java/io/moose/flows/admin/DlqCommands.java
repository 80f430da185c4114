package io.moose.flows.admin;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code moose dlq FLOW [--limit N]} and {@code moose replay FLOW [--since TIME]}. */
final class DlqCommands {

    private static final Pattern AGE = Pattern.compile("(\\d+)([smhd])");
    /** How much of an error message fits a table row. */
    private static final int ERROR_CHARS = 100;

    private final AdminClient client;
    private final PrintStream out;
    private final boolean json;
    private final Duration interval;

    DlqCommands(AdminClient client, PrintStream out, boolean json, Duration interval) {
        this.client = client;
        this.out = out;
        this.json = json;
        this.interval = interval;
    }

    /** An ISO-8601 instant as given, or an age ({@code 90m}, {@code 2h}, {@code 1d}) before {@code now} as one. */
    static String since(String text, Instant now) {
        Matcher age = AGE.matcher(text.trim());
        if (age.matches()) {
            long n = Long.parseLong(age.group(1));
            Duration d = switch (age.group(2)) {
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
            return now.minus(d).toString();
        }
        try {
            return Instant.parse(text.trim()).toString();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("--since: expected an ISO-8601 instant such as 2026-12-02T10:00:00Z or an age"
                    + " such as 90m, 2h, 1d; got '" + text + "'");
        }
    }

    int list(String flowId, Optional<String> limit) throws AdminClient.Failure {
        JsonNode reply = client.get("/flows/" + flowId + "/dlq" + limit.map(l -> "?limit=" + encode(l)).orElse(""));
        if (json) {
            out.println(AdminCli.pretty(reply));
            return AdminCli.OK;
        }
        TextTable table = new TextTable("DLQ", "DEAD-LETTERED", "STAGE", "ERROR", "SOURCE", "REPLAYS", "REPLAYED");
        for (JsonNode d : reply.path("deadLetters")) {
            String error = d.path("errorClass").asText().replaceAll(".*\\.", "") + ": " + d.path("errorMessage").asText();
            table.row(d.path("partition").asInt() + ":" + d.path("offset").asLong(), d.path("deadLetteredAt").asText(),
                    d.path("stage").asText(), error.length() > ERROR_CHARS ? error.substring(0, ERROR_CHARS) + "..." : error,
                    d.path("sourceTopic").asText() + ":" + d.path("sourcePartition").asInt() + ":" + d.path("sourceOffset").asLong(),
                    d.path("replays").asInt(), d.path("replayed").asBoolean() ? "yes" : "no");
        }
        table.print(out);
        out.println(AdminCli.count(reply.path("deadLetters").size()) + " shown; " + AdminCli.count(reply.path("total").asLong())
                + " in " + reply.path("topic").asText() + ", " + AdminCli.count(reply.path("notReplayed").asLong())
                + " not replayed yet (counted in offsets: upper bounds)");
        out.println(describe(reply.path("replay")));
        return AdminCli.OK;
    }

    /** Starts (or resumes) the replay, then follows it until it is no longer running. */
    int replay(String flowId, Optional<String> since) throws AdminClient.Failure {
        JsonNode started = client.post("/flows/" + flowId + "/dlq/replay" + since.map(s -> "?since=" + encode(s)).orElse(""), "");
        if (!json) {
            out.println((started.path("resumed").asBoolean() ? "resumed the interrupted replay " : "replay ")
                    + started.path("id").asText() + " of " + flowId + ": " + AdminCli.count(started.path("remaining").asLong())
                    + " to go (DLQ offsets)");
        }
        String id = started.path("id").asText();
        String previous = "";
        JsonNode replay = started;
        while ("running".equals(replay.path("state").asText()) && id.equals(replay.path("id").asText())) {
            try {
                Thread.sleep(interval.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return AdminCli.FAILED;
            }
            replay = client.get("/flows/" + flowId + "/dlq?limit=1").path("replay");
            String line = describe(replay);
            if (!json && !line.equals(previous)) {
                out.println(line);
                previous = line;
            }
        }
        if (json) {
            out.println(AdminCli.pretty(replay));
        }
        return "finished".equals(replay.path("state").asText()) ? AdminCli.OK : AdminCli.FAILED;
    }

    private static String describe(JsonNode replay) {
        String state = replay.path("state").asText();
        if ("none".equals(state)) {
            return "no replay yet";
        }
        String since = replay.path("since").isNull() || replay.path("since").isMissingNode() ? ""
                : " (dead letters since " + replay.path("since").asText() + ")";
        String line = "replay " + replay.path("id").asText() + since + ": " + state + "; "
                + AdminCli.count(replay.path("written").asLong()) + " written to the output, "
                + AdminCli.count(replay.path("failedAgain").asLong()) + " failed again (back in the DLQ), "
                + AdminCli.count(replay.path("passedOver").asLong()) + " passed over, "
                + AdminCli.count(replay.path("remaining").asLong()) + " to go";
        if ("interrupted".equals(state)) {
            line += "; run replay again to finish it";
        }
        String error = replay.path("error").asText("");
        return error.isEmpty() ? line : line + "; error: " + error;
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }
}
