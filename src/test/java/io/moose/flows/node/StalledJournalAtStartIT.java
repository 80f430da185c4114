package io.moose.flows.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moose.flows.testing.ClusterProcesses;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.TableCounts;
import io.moose.flows.testing.TcpProxy;
import io.moose.flows.testing.TestNode;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 11: a node started while PostgreSQL hangs (connections accepted, never answered) used to
 * fail its guardian after the pool's timeout and exit. Now it keeps retrying the journal schema,
 * answers /health/ready with not-ready and the journal's error, and becomes ready once PostgreSQL
 * answers; its flows then run on the journal. The hang is a proxy in front of the shared PostgreSQL.
 */
class StalledJournalAtStartIT {

    /** Bound on the JVM's start plus the first schema attempt, which fails when the pool's connection wait times out. */
    private static final Duration FIRST_FAILURE = Duration.ofSeconds(120);
    private static final Duration READY_AFTER_FORWARD = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    @Test
    void aNodeStartedWhilePostgresHangsStaysUpNotReadyAndBecomesReadyOnceItAnswers() throws Exception {
        URI postgres = URI.create(Infra.get().postgresUrl().substring("jdbc:".length()));
        try (TcpProxy proxy = TcpProxy.stalled(postgres.getHost(), postgres.getPort());
             ClusterProcesses cluster = ClusterProcesses.create(TestNode.projectFile(), 200,
                     "-Dmoose-flows.journal.url=jdbc:postgresql://127.0.0.1:" + proxy.port() + postgres.getPath())) {
            cluster.readyTimeout(Duration.ofMinutes(5));
            CompletableFuture<String> up = CompletableFuture.supplyAsync(() -> cluster.up(1));

            // The node notices: the schema's first attempt fails and is retried, not fatal, and the
            // node answers that it is not ready and why.
            java.util.concurrent.atomic.AtomicReference<String> answer = new java.util.concurrent.atomic.AtomicReference<>();
            TableCounts.await("a failed journal schema attempt, and /health/ready saying the journal is not ready", FIRST_FAILURE,
                    () -> {
                        answer.set(readiness(cluster));
                        return logContains(cluster, "Could not create the journal schema")
                                && answer.get().startsWith("500 ") && answer.get().contains("journal not ready");
                    },
                    () -> "ops/cluster up " + (up.isDone() ? "ended" : "waiting") + ", /health/ready: " + answer.get());
            assertFalse(up.isDone(), "ops/cluster up returned (node ready or dead) while PostgreSQL hangs");
            assertTrue(cluster.status().contains("state=running"), cluster::status);

            proxy.forward();
            long forwarded = System.nanoTime();
            up.get(READY_AFTER_FORWARD.toSeconds(), TimeUnit.SECONDS);
            System.out.printf("journal answered -> node ready in %d ms%n", (System.nanoTime() - forwarded) / 1_000_000);
            // The journal works: every flow and table sync recovers its state from it and runs.
            TableCounts.await("every entity running", READY_AFTER_FORWARD, () -> {
                JsonNode flows = get(cluster, "/flows");
                if (flows == null || flows.path("flows").isEmpty()) {
                    return false;
                }
                for (JsonNode entity : flows.path("flows")) {
                    if (!entity.path("state").asText().equals("running")) {
                        return false;
                    }
                }
                return true;
            }, () -> String.valueOf(get(cluster, "/flows")));
        }
    }

    private static boolean logContains(ClusterProcesses cluster, String text) {
        try {
            return Files.exists(cluster.logOf(1)) && Files.readString(cluster.logOf(1)).contains(text);
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** "status body" of /health/ready, or "no answer". */
    private String readiness(ClusterProcesses cluster) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(cluster.adminUrl(1) + "/health/ready"))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() + " " + response.body();
        } catch (Exception e) {
            return "no answer";
        }
    }

    private JsonNode get(ClusterProcesses cluster, String path) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(cluster.adminUrl(1) + path))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? JSON.readTree(response.body()) : null;
        } catch (Exception e) {
            return null;
        }
    }
}
