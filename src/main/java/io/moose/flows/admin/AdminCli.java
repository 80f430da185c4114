package io.moose.flows.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

import io.moose.flows.node.TlsSettings;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * {@code java -jar moose-flows.jar admin <command>} (or {@code ops/moose <command>}): the admin
 * routes for people, as aligned tables, or as the node's JSON with {@code --json}.
 */
public final class AdminCli {

    public static final String COMMAND = "admin";

    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    static final int UNREACHABLE = 3;
    static final int TOKEN_REFUSED = 4;
    static final int NOT_FOUND = 5;
    static final int REFUSED = 6;

    static final String DEFAULT_URL = "http://127.0.0.1:8558";
    /** How often {@code watch} asks for progress unless {@code --interval} says otherwise. */
    private static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(1);
    private static final String DONE = "done";
    private static final String[] SHARDED_TYPES = {"Flow", "TableSync", "Migration", "DlqReplay"};

    static final String USAGE_TEXT = """
            usage: moose [--url URL] [--token TOKEN] [--truststore FILE] [--json] <command>

              flows               every flow and table sync: kind, source, target, state, node, lag, rate, DLQ
              flow <id>           one flow or table sync, hop by hop
              pause <id>          pause a flow or table sync (needs the token)
              resume <id>         resume it (needs the token)
              migrations          every migration: phase, rows loaded / to load, rate, ETA
              watch <flowId>      a live progress bar of one migration; exits 0 once it is done
                                  (--interval SECONDS between updates, default 1)
              plan <file>         what applying a project definition would change
              apply <file>        apply it to the running cluster (needs the token)
              cluster             members, and which node hosts the shards of each entity type
              leave <address>     a member leaves the cluster gracefully (needs the token),
                                  e.g. akka://moose-flows@10.0.0.5:25520 as `cluster` lists it
              down <address>      mark a member that is gone as down (needs the token)
              dlq <flowId>        the flow's newest dead letters: error, source coordinates, whether
                                  replayed (--limit N, default 20); and its running or last replay
              replay <flowId>     send the flow's dead letters through its current transform again,
                                  exactly once (needs the token); failures go back to the DLQ with the
                                  new error; follows it until done. Run it again to finish one that
                                  was interrupted. --since TIME passes over older dead letters (an
                                  ISO-8601 instant, e.g. 2026-12-02T10:00:00Z, or an age: 90m, 2h, 1d)

              --url    admin API of any node (env MOOSE_ADMIN_URL, default http://127.0.0.1:8558)
              --token  admin token (env MOOSE_ADMIN_TOKEN)
              --truststore  for an https:// URL: a PKCS12 or JKS file with the certificates to trust,
                       e.g. the nodes' self-signed one (env MOOSE_ADMIN_TRUSTSTORE; its password from
                       env MOOSE_ADMIN_TRUSTSTORE_PASSWORD); default: the JVM's CAs
              --json   print the node's JSON instead of tables

            exit status: 0 ok, 1 failed (or a replay interrupted), 2 usage, 3 node unreachable,
                         4 token refused, 5 not found, 6 definition, plan or parameter refused
            """;

    private final AdminClient client;
    private final PrintStream out;
    private final PrintStream err;
    private final boolean json;
    private final boolean terminal;
    private final Duration interval;
    private final Optional<String> limit;
    private final Optional<String> since;

    private AdminCli(AdminClient client, PrintStream out, PrintStream err, boolean json, boolean terminal, Duration interval,
                     Optional<String> limit, Optional<String> since) {
        this.client = client;
        this.out = out;
        this.err = err;
        this.json = json;
        this.terminal = terminal;
        this.interval = interval;
        this.limit = limit;
        this.since = since;
    }

    /** Entry point of {@code Main admin ...}; returns the exit status. */
    public static int main(String[] args) {
        return run(args, System.out, System.err, System.getenv(), System.console() != null);
    }

    /** @param terminal whether stdout is a terminal: {@code watch} then redraws one line in place */
    static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env, boolean terminal) {
        String url = env.getOrDefault("MOOSE_ADMIN_URL", DEFAULT_URL);
        Optional<String> token = Optional.ofNullable(env.get("MOOSE_ADMIN_TOKEN")).filter(t -> !t.isBlank());
        Optional<String> truststore = Optional.ofNullable(env.get("MOOSE_ADMIN_TRUSTSTORE")).filter(t -> !t.isBlank());
        boolean json = false;
        Duration interval = DEFAULT_INTERVAL;
        Optional<String> limit = Optional.empty();
        Optional<String> since = Optional.empty();
        List<String> words = new ArrayList<>();
        Iterator<String> it = List.of(args).iterator();
        try {
            while (it.hasNext()) {
                String arg = it.next();
                String value = arg.contains("=") ? arg.substring(arg.indexOf('=') + 1) : null;
                String option = value == null ? arg : arg.substring(0, arg.indexOf('='));
                switch (option) {
                    case "--url" -> url = value != null ? value : next(it, option);
                    case "--token" -> token = Optional.of(value != null ? value : next(it, option));
                    case "--truststore" -> truststore = Optional.of(value != null ? value : next(it, option));
                    case "--json" -> json = true;
                    case "--interval" -> interval = Duration.ofMillis(Math.round(
                            Double.parseDouble(value != null ? value : next(it, option)) * 1000));
                    case "--limit" -> limit = Optional.of(value != null ? value : next(it, option));
                    case "--since" -> since = Optional.of(DlqCommands.since(value != null ? value : next(it, option), java.time.Instant.now()));
                    case "-h", "--help", "help" -> {
                        out.print(USAGE_TEXT);
                        return OK;
                    }
                    default -> {
                        if (arg.startsWith("--")) {
                            throw new IllegalArgumentException("unknown option " + arg);
                        }
                        words.add(arg);
                    }
                }
            }
        } catch (IllegalArgumentException e) {
            err.println("moose: " + e.getMessage());
            err.print(USAGE_TEXT);
            return USAGE;
        }
        if (words.isEmpty()) {
            err.print(USAGE_TEXT);
            return USAGE;
        }
        Optional<SSLContext> tls;
        try {
            tls = truststore.map(file -> TlsSettings.clientContext(Path.of(file),
                    env.getOrDefault("MOOSE_ADMIN_TRUSTSTORE_PASSWORD", "").toCharArray(), "PKCS12",
                    "--truststore", "MOOSE_ADMIN_TRUSTSTORE_PASSWORD"));
        } catch (IllegalArgumentException e) {
            err.println("moose: " + e.getMessage());
            return USAGE;
        }
        if (limit.isPresent() && !words.get(0).equals("dlq") || since.isPresent() && !words.get(0).equals("replay")) {
            err.println("moose: " + (limit.isPresent() ? "--limit goes with dlq" : "--since goes with replay"));
            err.print(USAGE_TEXT);
            return USAGE;
        }
        AdminCli cli = new AdminCli(new AdminClient(url, token, tls), out, err, json, terminal, interval, limit, since);
        try {
            return cli.dispatch(words.get(0), words.subList(1, words.size()));
        } catch (AdminClient.Failure f) {
            err.println("moose: " + f.getMessage());
            if (f.body() != null && f.body().has("problems")) {
                f.body().get("problems").forEach(p -> err.println("  - " + p.asText()));
            }
            return f.exitStatus();
        }
    }

    private static String next(Iterator<String> it, String option) {
        if (!it.hasNext()) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return it.next();
    }

    private int dispatch(String command, List<String> args) throws AdminClient.Failure {
        int expected = switch (command) {
            case "flows", "migrations", "cluster" -> 0;
            case "flow", "pause", "resume", "watch", "plan", "apply", "leave", "down", "dlq", "replay" -> 1;
            default -> -1;
        };
        if (expected < 0) {
            err.println("moose: unknown command '" + command + "'");
            err.print(USAGE_TEXT);
            return USAGE;
        }
        if (args.size() != expected) {
            err.println("moose: " + command + (expected == 0 ? " takes no argument" : " needs exactly one argument"));
            err.print(USAGE_TEXT);
            return USAGE;
        }
        String arg = expected == 1 ? args.get(0) : null;
        return switch (command) {
            case "flows" -> flows();
            case "flow" -> flow(arg);
            case "pause" -> change(arg, "pause");
            case "resume" -> change(arg, "resume");
            case "migrations" -> migrations();
            case "watch" -> watch(arg);
            case "plan" -> plan(arg, "plan");
            case "apply" -> plan(arg, "apply");
            case "leave" -> member(arg, "leave");
            case "down" -> member(arg, "down");
            case "dlq" -> new DlqCommands(client, out, json, interval).list(arg, limit);
            case "replay" -> new DlqCommands(client, out, json, interval).replay(arg, since);
            default -> cluster();
        };
    }

    // ---- commands

    private int flows() throws AdminClient.Failure {
        JsonNode reply = client.get("/flows");
        if (printedJson(reply)) {
            return OK;
        }
        TextTable table = new TextTable("ID", "KIND", "SOURCE", "TARGET", "STATE", "NODE", "LAG", "RATE/S", "DLQ");
        for (JsonNode f : reply.path("flows")) {
            table.row(f.path("id").asText(), f.path("kind").asText(), f.path("source").asText(), f.path("target").asText(),
                    f.path("state").asText(), shortNode(f.path("node").asText()), lag(f.path("lag").asLong(-1)),
                    rate(deliveredRate(f)), f.path("deadLetters").asLong());
        }
        table.print(out);
        for (JsonNode f : reply.path("flows")) {
            if (f.hasNonNull("problem")) {
                out.println(f.path("id").asText() + " " + f.path("state").asText() + ": " + f.path("problem").asText());
            }
        }
        return OK;
    }

    private int flow(String id) throws AdminClient.Failure {
        JsonNode f = client.get("/flows/" + id);
        if (printedJson(f)) {
            return OK;
        }
        printEntity(f);
        return OK;
    }

    private int change(String id, String verb) throws AdminClient.Failure {
        JsonNode f = client.post("/flows/" + id + "/" + verb, "");
        if (printedJson(f)) {
            return OK;
        }
        out.println(f.path("id").asText() + ": " + f.path("state").asText() + " (" + shortNode(f.path("node").asText()) + ")");
        return OK;
    }

    private int member(String address, String verb) throws AdminClient.Failure {
        // Encoded: the address's "//" would otherwise be collapsed when the URL is resolved.
        String encoded = java.net.URLEncoder.encode(address, java.nio.charset.StandardCharsets.UTF_8);
        JsonNode reply = client.post("/cluster/members/" + encoded + "/" + verb, "");
        if (printedJson(reply)) {
            return OK;
        }
        out.println(reply.path("message").asText());
        return OK;
    }

    private int migrations() throws AdminClient.Failure {
        JsonNode reply = client.get("/migrations");
        if (printedJson(reply)) {
            return OK;
        }
        TextTable table = new TextTable("FLOW", "PHASE", "LOADED", "TO LOAD", "%", "RATE/S", "ETA", "CHECKPOINT", "NODE", "ERROR");
        for (JsonNode m : reply.path("migrations")) {
            table.row(m.path("flowId").asText(), m.path("phase").asText(), count(m.path("rowsLoaded").asLong()),
                    count(m.path("rowsToLoad").asLong()), String.format(Locale.ROOT, "%.1f", m.path("percent").asDouble()),
                    rate(m.path("rowsPerSecond").asDouble()), ProgressBar.eta(m.path("etaSeconds").asLong(-1)),
                    m.path("lastCheckpoint").asText(""), shortNode(m.path("node").asText()), m.path("lastError").asText(""));
        }
        table.print(out);
        return OK;
    }

    private int watch(String flowId) throws AdminClient.Failure {
        String previous = "";
        while (true) {
            JsonNode progress = client.get("/migrations/" + flowId);
            boolean done = DONE.equals(progress.path("phase").asText());
            String line = json ? progress.toString() : ProgressBar.line(progress);
            if (terminal && !json) {
                // Pad over what a longer previous line left on screen.
                out.print("\r" + line + " ".repeat(Math.max(0, previous.length() - line.length())));
                if (done) {
                    out.println();
                }
            } else if (!line.equals(previous) || done) {
                out.println(line);
            }
            out.flush();
            if (done) {
                return OK;
            }
            previous = line;
            try {
                Thread.sleep(interval.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return FAILED;
            }
        }
    }

    private int plan(String file, String verb) throws AdminClient.Failure {
        String text;
        try {
            text = Files.readString(Path.of(file));
        } catch (IOException e) {
            err.println("moose: cannot read " + file + ": " + e.getMessage());
            return USAGE;
        }
        JsonNode reply = client.post("/project/" + verb, text);
        if (printedJson(reply)) {
            return OK;
        }
        JsonNode plan = reply.path("plan");
        if (reply.path("changesNothing").asBoolean()) {
            out.println(file + ": nothing to change; the cluster already runs this definition");
            return OK;
        }
        out.println(reply.path("applied").asBoolean() ? "Applied " + file + ":" : "Applying " + file + " would add:");
        TextTable table = new TextTable("WHAT", "NAME");
        addAll(table, "version", plan.path("newVersions"));
        addAll(table, "table", plan.path("newTables"));
        addAll(table, "topic", plan.path("newTopics"));
        addAll(table, "flow", plan.path("newFlows"));
        addAll(table, "migration", plan.path("newMigrations"));
        table.print(out);
        if (reply.path("applied").asBoolean() && !plan.path("newMigrations").isEmpty()) {
            out.println("Follow the initial load with: moose watch " + plan.path("newMigrations").get(0).asText());
        }
        return OK;
    }

    private int cluster() throws AdminClient.Failure {
        JsonNode members = client.get("/cluster/members");
        JsonNode shards = client.get("/shards");
        if (json) {
            out.println(pretty(AdminJson.MAPPER.createObjectNode().<com.fasterxml.jackson.databind.node.ObjectNode>set("members", members)
                    .set("shards", shards)));
            return OK;
        }
        String leader = members.path("leader").asText("");
        String self = members.path("selfNode").asText("");
        TextTable table = new TextTable("MEMBER", "STATUS", "ROLES", "");
        for (JsonNode m : members.path("members")) {
            String node = m.path("node").asText();
            List<String> notes = new ArrayList<>();
            if (node.equals(leader)) {
                notes.add("leader");
            }
            if (node.equals(self)) {
                notes.add("answered this request");
            }
            List<String> roles = new ArrayList<>();
            m.path("roles").forEach(r -> roles.add(r.asText()));
            table.row(shortNode(node), m.path("status").asText(), String.join(",", roles), String.join(", ", notes));
        }
        for (JsonNode u : members.path("unreachable")) {
            table.row(shortNode(u.path("node").asText()), "UNREACHABLE", "", "observed by " + u.path("observedBy"));
        }
        table.print(out);
        out.println();
        TextTable placement = new TextTable("ENTITY TYPE", "NODE", "SHARDS", "ENTITIES");
        for (String type : SHARDED_TYPES) {
            JsonNode byNode = shards.path(type);
            byNode.fields().forEachRemaining(e -> {
                long entities = 0;
                for (JsonNode n : e.getValue()) {
                    entities += n.asLong();
                }
                placement.row(type, shortNode(e.getKey()), e.getValue().size(), entities);
            });
        }
        placement.print(out);
        return OK;
    }

    // ---- formatting

    private void printEntity(JsonNode f) {
        TextTable head = new TextTable("id:", f.path("id").asText());
        head.row("kind:", f.path("kind").asText())
                .row("source:", f.path("source").asText())
                .row("target:", f.path("target").asText())
                .row("state:", f.path("state").asText() + (f.hasNonNull("problem") ? ": " + f.path("problem").asText() : ""))
                .row("node:", shortNode(f.path("node").asText()))
                .row("lag:", lag(f.path("lag").asLong(-1)))
                .row("dead letters:", f.path("deadLetters").asLong());
        head.print(out);
        out.println();
        TextTable hops = new TextTable("HOP", "STATE", "RECORDS", "RATE/S", "LAG", "DLQ", "LAST ERROR");
        for (JsonNode h : f.path("hops")) {
            hops.row(h.path("hop").asText(), h.path("state").asText(), count(h.path("records").asLong()),
                    rate(h.path("ratePerSecond").asDouble()), lag(h.path("lag").asLong(-1)), h.path("deadLetters").asLong(),
                    h.path("lastError").asText(""));
        }
        hops.print(out);
    }

    private boolean printedJson(JsonNode reply) {
        if (json) {
            out.println(pretty(reply));
        }
        return json;
    }

    static String pretty(JsonNode node) {
        try {
            return AdminJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed JSON tree always serializes", e);
        }
    }

    private static void addAll(TextTable table, String what, JsonNode names) {
        names.forEach(n -> table.row(what, n.asText()));
    }

    /** The rate at which records reach the target: the last hop's. */
    private static double deliveredRate(JsonNode flow) {
        JsonNode hops = flow.path("hops");
        return hops.isEmpty() ? 0 : hops.get(hops.size() - 1).path("ratePerSecond").asDouble();
    }

    /** {@code akka://moose-flows@10.0.0.5:25520} → {@code 10.0.0.5:25520}: the system name is the same everywhere. */
    private static String shortNode(String address) {
        int at = address.indexOf('@');
        return address.isEmpty() ? "-" : at < 0 ? address : address.substring(at + 1);
    }

    private static String lag(long lag) {
        return lag < 0 ? "-" : count(lag);
    }

    static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    private static String rate(double perSecond) {
        return String.format(Locale.ROOT, "%,.1f", perSecond);
    }
}
