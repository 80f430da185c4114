package io.moose.flows.bench;

import io.moose.flows.testing.Infra;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The data-plane benchmark in small (what {@code ops/bench --data-plane} runs, a few thousand records,
 * one round, a short latency run), so a change that breaks a measurement shows up in the tests, not
 * on the day someone needs the numbers. It checks that every row was measured, not how fast.
 */
class BenchSmokeIT {

    private static final int RECORDS = 20_000;
    private static final long TIMEOUT_MINUTES = 5;
    private static final String COMMIT_INTERVAL = "10ms";
    /** A table row: measure, moose-flows rate, ceiling rate. */
    private static final Pattern RATE_ROW = Pattern.compile("^\\| (.+?) \\| ([\\d,]+) rec/s \\| ([\\d,]+) rec/s \\|.*$", Pattern.MULTILINE);
    /** A CPU row: measure, each side's total and broker seconds. */
    private static final Pattern CPU_ROW = Pattern.compile(
            "^\\| \\S+ hop \\| ([\\d.]+) s \\(JVM [\\d.]+ \\+ broker ([\\d.]+)\\) \\| ([\\d.]+) s \\(JVM [\\d.]+ \\+ broker ([\\d.]+)\\) \\| [\\d.]+x \\|$",
            Pattern.MULTILINE);
    private static final Pattern LATENCY_ROW = Pattern.compile("^\\| ingest -> (\\S+) .*\\| (\\d+)/(\\d+) \\| (\\d+) ms \\| (\\d+) ms \\|$",
            Pattern.MULTILINE);

    @Test
    void everyMeasurementOfTheDataPlaneBenchProducesARate() throws Exception {
        Infra infra = Infra.get();
        Path repo = Infra.repoRoot();
        Path output = Files.createTempFile("bench-smoke", ".txt");
        ProcessBuilder bench = new ProcessBuilder(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "-cp", System.getProperty("java.class.path"),
                "-Dlogback.configurationFile=" + repo.resolve("src/test/resources/logback-test.xml"),
                "-Dbench.records=" + RECORDS, "-Dbench.rounds=1", "-Dbench.warmup-rounds=0",
                "-Dbench.parts=hops,sink,latency", "-Dbench.broker-pid=" + infra.script("pid", "kafka").trim(), "-Dbench.latency.rate=500", "-Dbench.latency.seconds=3",
                // The sink's rate counts the rows after its first INSERT, a hop's those after its first
                // commit: a few batches and many commits, not one (at 200k rec/s 20,000 records fit in one
                // default commit interval, and the CI run of 2026-12-01 18:33 measured nothing).
                "-Dbench.config=moose-flows.sync.batch-size = " + RECORDS / 10 + ", moose-flows.flow.commit-interval = " + COMMIT_INTERVAL,
                DataPlaneBench.class.getName()))
                .directory(repo.toFile())
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        Map<String, String> env = bench.environment();
        env.put("KAFKA_BOOTSTRAP", infra.kafkaBootstrap());
        env.put("CLICKHOUSE_URL", infra.clickhouseUrl());
        env.put("POSTGRES_URL", infra.postgresUrl());
        env.put("CLICKHOUSE_TCP_PORT", infra.clickhouseTcpPort());
        Process process = bench.start();
        boolean exited = process.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES);
        if (!exited) {
            process.destroyForcibly();
        }
        String text = Files.readString(output, StandardCharsets.UTF_8);
        assertTrue(exited, "the bench did not finish in " + TIMEOUT_MINUTES + " min:\n" + text);
        assertEquals(0, process.exitValue(), text);

        Matcher rows = RATE_ROW.matcher(text);
        int measured = 0;
        while (rows.find()) {
            measured++;
            assertTrue(rate(rows.group(2)) > 0 && rate(rows.group(3)) > 0, "a rate of zero in: " + rows.group());
            assertTrue(rows.group().matches(".*\\| \\d+\\.\\d+x \\|.*"), "no ratio in: " + rows.group());
        }
        // copy, transform, table sync vs clickhouse-client, table sync vs HTTP insert
        assertEquals(4, measured, text);
        Matcher cpu = CPU_ROW.matcher(text);
        int costed = 0;
        while (cpu.find()) {
            costed++;
            // groups: moose-flows total, its broker share, ceiling total, its broker share
            for (int total = 1; total <= 3; total += 2) {
                assertTrue(Double.parseDouble(cpu.group(total)) > 0, "no CPU counted in: " + cpu.group());
                // the broker works for both sides: a zero means its PID was not read
                assertTrue(Double.parseDouble(cpu.group(total + 1)) > 0, "no broker CPU counted in: " + cpu.group());
            }
        }
        // copy and transform, each beside the ceiling
        assertEquals(2, costed, text);
        Matcher latency = LATENCY_ROW.matcher(text);
        int paths = 0;
        while (latency.find()) {
            paths++;
            assertEquals(latency.group(3), latency.group(2), "records lost on the way to " + latency.group(1) + ": " + latency.group());
        }
        assertEquals(2, paths, text);
    }

    private static double rate(String digits) {
        return Double.parseDouble(digits.replace(",", ""));
    }
}
