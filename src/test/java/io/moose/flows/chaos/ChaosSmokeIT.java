package io.moose.flows.chaos;

import io.moose.flows.testing.Infra;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chaos runner in small: three node processes, steady ingestion, the migrations applied at
 * runtime and one node SIGKILLed just after they start, then every table counted per eventId.
 * Needs the node jar ({@code mvn package} builds it before failsafe runs the ITs).
 */
class ChaosSmokeIT {

    @Test
    void killedNodeDuringMigrationLosesAndDuplicatesNothing() throws Exception {
        Infra infra = Infra.get();
        Path repo = Path.of("").toAbsolutePath();
        Path jar = repo.resolve("target/moose-flows.jar");
        assertTrue(Files.isRegularFile(jar), "needs " + jar + "; run through `mvn verify`, which packages it first");
        ChaosRunner.Endpoints endpoints = new ChaosRunner.Endpoints(infra.kafkaBootstrap(), infra.clickhouseUrl(),
                infra.postgresUrl(), infra.postgresUser(), infra.postgresPassword());
        ChaosRunner runner = new ChaosRunner(new ChaosRunner.Settings(repo, repo.resolve("target/chaos"), 42,
                Duration.ofSeconds(60), 3, EnumSet.of(FaultKind.KILL), 100, Optional.of(endpoints), Map.of(),
                19180, 19658, 27620, Duration.ofMinutes(6), false));

        ChaosReport report = runner.run();

        System.out.print(report.text());
        assertTrue(report.passed(), "chaos smoke failed (logs in " + runner.runDir() + "):\n" + report.text());
        assertTrue(report.tables().stream().allMatch(t -> t.expected() > 0), "the load accepted nothing:\n" + report.text());
    }
}
