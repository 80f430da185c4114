package io.moose.flows.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * The real Kafka, ClickHouse and PostgreSQL that integration tests run against, shared by every
 * test of a JVM. {@link #get()} brings them up once with {@code ops/infra up} (a no-op for
 * services already running) unless {@code KAFKA_BOOTSTRAP}, {@code CLICKHOUSE_URL} and
 * {@code POSTGRES_URL} are all set, in which case those services are used as they are.
 *
 * <p>Tests share the services, so each isolates itself: a fresh ClickHouse database and a fresh
 * topic prefix from {@link #uniqueName(String)}. {@code MOOSE_INFRA_HOME} selects the instance,
 * as it does for {@code ops/infra}.
 *
 * <p>{@code MOOSE_TEST_CLICKHOUSE=current} (set by {@code ops/test --clickhouse current}) puts the
 * ClickHouse of the tests on current ClickHouse's engine: {@code ops/infra up --with
 * clickhouse-current} (ops/clickhouse-current/README.md) and {@link #clickhouseUrl()} is its
 * {@code CLICKHOUSE_CURRENT_URL}. With the services from the environment, {@code CLICKHOUSE_URL} is
 * used as given.
 */
public final class Infra {

  private static final List<String> EXTERNAL_VARIABLES =
      List.of("KAFKA_BOOTSTRAP", "CLICKHOUSE_URL", "POSTGRES_URL");
  private static final Set<String> SERVICES = Set.of("kafka", "clickhouse", "postgres");
  /** A cold {@code up} downloads Kafka; a warm one takes seconds. */
  private static final long SCRIPT_TIMEOUT_MINUTES = 10;
  /** Valid as a ClickHouse identifier and inside a Kafka topic name. */
  private static final Pattern NAME_PREFIX = Pattern.compile("[A-Za-z][A-Za-z0-9_]*");
  private static final char[] NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789".toCharArray();
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The ClickHouse lane: {@code current} for the chDB stand-in, anything else for Debian's ClickHouse. */
  private static final boolean CURRENT_CLICKHOUSE = "current".equals(System.getenv("MOOSE_TEST_CLICKHOUSE"));

  /** ops/infra's default, for services given by the environment without their native port. */
  private static final String DEFAULT_CLICKHOUSE_TCP_PORT = "19000";

  private static Infra instance;

  private final Path repoRoot;
  private final boolean managedByScript;
  private final Map<String, String> settings;

  private Infra(Path repoRoot, boolean managedByScript, Map<String, String> settings) {
    this.repoRoot = repoRoot;
    this.managedByScript = managedByScript;
    this.settings = settings;
  }

  /** The services of this JVM, started on first use. A failed start is retried by the next caller. */
  public static synchronized Infra get() {
    if (instance == null) {
      instance = create();
    }
    return instance;
  }

  private static Infra create() {
    Path root = findRepoRoot();
    if (EXTERNAL_VARIABLES.stream().allMatch(name -> System.getenv(name) != null)) {
      Map<String, String> settings = new HashMap<>();
      EXTERNAL_VARIABLES.forEach(name -> settings.put(name, System.getenv(name)));
      settings.put("POSTGRES_USER", System.getenv().getOrDefault("POSTGRES_USER", "moose"));
      settings.put("POSTGRES_PASSWORD", System.getenv().getOrDefault("POSTGRES_PASSWORD", "moose"));
      settings.put("CLICKHOUSE_TCP_PORT", System.getenv().getOrDefault("CLICKHOUSE_TCP_PORT", DEFAULT_CLICKHOUSE_TCP_PORT));
      return new Infra(root, false, settings);
    }
    System.out.print(CURRENT_CLICKHOUSE ? runScript(root, "up", "--with", "clickhouse-current") : runScript(root, "up"));
    Map<String, String> settings = parseEnv(runScript(root, "env"));
    if (CURRENT_CLICKHOUSE) {
      settings.put("CLICKHOUSE_URL", settings.get("CLICKHOUSE_CURRENT_URL"));
    }
    return new Infra(root, true, settings);
  }

  /** The repository checkout the tests run in (where ops/ and conf/ are). */
  public static Path repoRoot() {
    return findRepoRoot();
  }

  public String kafkaBootstrap() {
    return setting("KAFKA_BOOTSTRAP");
  }

  /** Base URL of the ClickHouse HTTP interface, without a trailing slash. */
  public String clickhouseUrl() {
    return setting("CLICKHOUSE_URL");
  }

  /** ClickHouse's native-protocol port, which clickhouse-client speaks (the HTTP URL is {@link #clickhouseUrl()}). */
  public String clickhouseTcpPort() {
    return setting("CLICKHOUSE_TCP_PORT");
  }

  public String postgresUrl() {
    return setting("POSTGRES_URL");
  }

  public String postgresUser() {
    return setting("POSTGRES_USER");
  }

  public String postgresPassword() {
    return setting("POSTGRES_PASSWORD");
  }

  /** Stops one service ({@code kafka}, {@code clickhouse} or {@code postgres}), keeping its data. */
  public void stop(String service) {
    runScript(repoRoot, "stop", checkedService(service));
  }

  /** Starts one service again and returns once it answers. */
  public void start(String service) {
    runScript(repoRoot, "start", checkedService(service));
  }

  /**
   * False on the chDB stand-in of {@code ops/test --clickhouse current}, which runs one statement at a
   * time (ops/clickhouse-current/README.md): a test's bound on latency under concurrent queries holds
   * only on a server.
   */
  public boolean clickhouseRunsStatementsConcurrently() {
    return !CURRENT_CLICKHOUSE;
  }

  /** False when the services came from the environment and {@code ops/infra} does not manage them. */
  public boolean managedByScript() {
    return managedByScript;
  }

  /** Runs {@code ops/infra} with these arguments and returns its output; fails on a non-zero exit. */
  public String script(String... args) {
    return runScript(repoRoot, args);
  }

  /**
   * {@code prefix_} followed by 8 random lowercase letters and digits: a name no other test run
   * uses, valid as a ClickHouse database name and as a Kafka topic prefix.
   */
  public static String uniqueName(String prefix) {
    if (!NAME_PREFIX.matcher(prefix).matches()) {
      throw new IllegalArgumentException(
          "name prefix '" + prefix + "' must match " + NAME_PREFIX + " to be a ClickHouse identifier");
    }
    StringBuilder name = new StringBuilder(prefix).append('_');
    for (int i = 0; i < 8; i++) {
      name.append(NAME_CHARS[RANDOM.nextInt(NAME_CHARS.length)]);
    }
    return name.toString();
  }

  private String setting(String name) {
    String value = settings.get(name);
    if (value == null) {
      throw new IllegalStateException("ops/infra env printed no " + name);
    }
    return value;
  }

  private static String checkedService(String service) {
    if (!SERVICES.contains(service)) {
      throw new IllegalArgumentException("unknown service '" + service + "', expected one of " + SERVICES);
    }
    return service;
  }

  /** Tests run from the module dir or below it; the repository root is where ops/infra lives. */
  private static Path findRepoRoot() {
    Path start = Path.of("").toAbsolutePath();
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("ops/infra"))) {
        return dir;
      }
    }
    throw new IllegalStateException("no ops/infra in " + start + " or any dir above it");
  }

  private static Map<String, String> parseEnv(String output) {
    Map<String, String> settings = new HashMap<>();
    output.lines()
        .filter(line -> line.contains("="))
        .forEach(line -> {
          int eq = line.indexOf('=');
          // ops/infra prints `export VAR=value` lines, for eval in a shell.
          settings.put(line.substring(0, eq).trim().replaceFirst("^export\\s+", ""), line.substring(eq + 1).trim());
        });
    return settings;
  }

  private static String runScript(Path root, String... args) {
    String command = "ops/infra " + String.join(" ", args);
    List<String> argv = new ArrayList<>(List.of("bash", root.resolve("ops/infra").toString()));
    argv.addAll(List.of(args));
    try {
      // The services started by the script redirect their own output, so reading ours to the end
      // returns when the script exits.
      Process process = new ProcessBuilder(argv).directory(root.toFile()).redirectErrorStream(true).start();
      process.getOutputStream().close();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(SCRIPT_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new IllegalStateException(command + " did not finish within " + SCRIPT_TIMEOUT_MINUTES + " min");
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException(command + " failed with exit code " + process.exitValue() + ":\n" + output);
      }
      return output;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    }
  }
}
