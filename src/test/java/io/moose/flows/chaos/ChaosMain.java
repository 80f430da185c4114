package io.moose.flows.chaos;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code ops/chaos}: runs one chaos scenario against its own services and cluster and prints the
 * report; exit status 0 = no loss and no duplicates, 1 = the verification failed, 2 = bad usage.
 *
 * <pre>
 *   ops/chaos [--seed N] [--duration 5m] [--nodes 3] [--faults all|none|kill,pause,...]
 *             [--rate RECORDS_PER_S] [--report FILE.md] [--work DIR] [--keep-cluster]
 * </pre>
 *
 * The services come from {@code ops/infra} with whatever MOOSE_INFRA_HOME and ports the environment
 * names (ops/chaos sets its own instance); nodes use MOOSE_CHAOS_INGEST_BASE / _ADMIN_BASE /
 * _REMOTE_BASE (defaults 9080, 9558, 26520).
 */
public final class ChaosMain {

    private ChaosMain() {
    }

    public static void main(String[] args) throws Exception {
        long seed = 1;
        Duration duration = Duration.ofMinutes(5);
        int nodes = 3;
        Set<FaultKind> faults = FaultKind.parseList("all");
        int rate = 200;
        Optional<Path> reportFile = Optional.empty();
        Path work = Path.of(System.getenv().getOrDefault("MOOSE_CHAOS_HOME", ".chaos"));
        boolean keepCluster = false;
        try {
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if (arg.equals("--keep-cluster")) {
                    keepCluster = true;
                    continue;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(arg + " needs a value");
                }
                String value = args[++i];
                switch (arg) {
                    case "--seed" -> seed = Long.parseLong(value);
                    case "--duration" -> duration = parseDuration(value);
                    case "--nodes" -> nodes = Integer.parseInt(value);
                    case "--faults" -> faults = FaultKind.parseList(value);
                    case "--rate" -> rate = Integer.parseInt(value);
                    case "--report" -> reportFile = Optional.of(Path.of(value));
                    case "--work" -> work = Path.of(value);
                    default -> throw new IllegalArgumentException("unknown option " + arg);
                }
            }
            if (nodes < 1 || rate < 1 || duration.toSeconds() < 30) {
                throw new IllegalArgumentException("--nodes and --rate must be positive, --duration at least 30s");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("ops/chaos: " + e.getMessage());
            System.err.println("usage: ops/chaos [--seed N] [--duration 5m] [--nodes 3] [--faults all|none|"
                    + "kill,pause,rolling-restart,kafka-restart,clickhouse-down,postgres-down,starve,journal-stall] [--rate N] [--report FILE] [--work DIR] [--keep-cluster]");
            System.exit(2);
            return;
        }
        Path repo = Path.of(System.getenv().getOrDefault("MOOSE_REPO", ".")).toAbsolutePath().normalize();
        Map<String, String> env = new HashMap<>();
        ChaosRunner runner = new ChaosRunner(new ChaosRunner.Settings(repo, work.toAbsolutePath(), seed, duration, nodes, faults, rate,
                Optional.empty(), env, port("MOOSE_CHAOS_INGEST_BASE", 9080), port("MOOSE_CHAOS_ADMIN_BASE", 9558),
                port("MOOSE_CHAOS_REMOTE_BASE", 26520), duration.plusMinutes(5), keepCluster));
        ChaosReport report = runner.run();
        System.out.println();
        System.out.print(report.text());
        Files.writeString(runner.runDir().resolve("report.md"), report.markdown());
        if (reportFile.isPresent()) {
            Files.writeString(reportFile.get(), report.markdown());
        }
        System.exit(report.passed() ? 0 : 1);
    }

    /** {@code 90s}, {@code 5m}, {@code 1h}, or plain seconds. */
    static Duration parseDuration(String text) {
        String t = text.trim();
        try {
            return switch (t.charAt(t.length() - 1)) {
                case 's' -> Duration.ofSeconds(Long.parseLong(t.substring(0, t.length() - 1)));
                case 'm' -> Duration.ofMinutes(Long.parseLong(t.substring(0, t.length() - 1)));
                case 'h' -> Duration.ofHours(Long.parseLong(t.substring(0, t.length() - 1)));
                default -> Duration.ofSeconds(Long.parseLong(t));
            };
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("--duration: '" + text + "' is not like 90s, 5m or 1h");
        }
    }

    private static int port(String variable, int fallback) {
        return Integer.parseInt(System.getenv().getOrDefault(variable, String.valueOf(fallback)));
    }
}
