package io.moose.flows.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code ops/infra} and {@code ops/cluster} the way a person would, with this run's
 * environment (state dirs, port bases, node options), logging every call and its output.
 */
final class OpsScripts {

    private static final Duration TIMEOUT = Duration.ofMinutes(10);

    private final Path repo;
    private final Map<String, String> env;
    private final Path log;

    OpsScripts(Path repo, Map<String, String> env, Path log) {
        this.repo = repo;
        this.env = Map.copyOf(env);
        this.log = log;
    }

    String infra(String... args) {
        return run("ops/infra", args);
    }

    String cluster(String... args) {
        return run("ops/cluster", args);
    }

    /** Whether node {@code i}'s process is alive (running or paused), per {@code ops/cluster status}. */
    boolean nodeAlive(int i) {
        for (String line : cluster("status").lines().toList()) {
            if (line.contains("node=" + i + " ")) {
                return !line.contains("state=stopped");
            }
        }
        return false;
    }

    private synchronized String run(String script, String... args) {
        List<String> argv = new ArrayList<>(List.of("bash", repo.resolve(script).toString()));
        argv.addAll(List.of(args));
        String command = script + " " + String.join(" ", args);
        append("[" + Instant.now() + "] $ " + command + "\n");
        try {
            ProcessBuilder builder = new ProcessBuilder(argv).directory(repo.toFile()).redirectErrorStream(true);
            builder.environment().putAll(env);
            Process process = builder.start();
            process.getOutputStream().close();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(TIMEOUT.toMinutes(), TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new IllegalStateException(command + " did not finish within " + TIMEOUT);
            }
            append(output);
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

    private void append(String text) {
        try {
            Files.writeString(log, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
