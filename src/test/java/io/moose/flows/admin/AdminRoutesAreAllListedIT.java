package io.moose.flows.admin;

import akka.cluster.typed.Cluster;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * docs/admin-routes.md is the whole admin port: every route it lists answers on a running node with
 * the protection it states (no token: open and read routes answer, token routes say 401), and every
 * other route Akka Management 1.1 or moose could serve, or someone could guess, answers "no such route"
 * (Akka HTTP's own 404 or 405), whatever the method.
 */
class AdminRoutesAreAllListedIT {

    private static final Pattern ROW = Pattern.compile("^\\| (GET|POST|PUT|DELETE|PATCH) \\| (/\\S*) \\| (open|read|token) \\|");
    private static final List<String> METHODS = List.of("GET", "POST", "PUT", "DELETE", "PATCH");
    /** Management 1.1's route names (cluster-http, bootstrap, health checks), moose's, and guesses. */
    private static final List<String> CANDIDATES = List.of("/", "/cluster", "/cluster/", "/cluster/members", "/cluster/members/",
            "/cluster/members/{address}", "/cluster/members/{address}/leave", "/cluster/members/{address}/down",
            "/cluster/members/{address}/join", "/cluster/shards/TableSync", "/cluster/shards", "/cluster/domain-events",
            "/cluster/prepare-for-full-shutdown", "/cluster/leader", "/bootstrap", "/bootstrap/seed-nodes", "/health", "/health/ready",
            "/health/alive", "/ready", "/alive", "/metrics", "/flows", "/flows/Listed_0_1", "/flows/Listed_0_1/pause",
            "/flows/Listed_0_1/resume", "/flows/Listed_0_1/delete", "/flows/Listed_0_1/dlq",
            "/flows/Listed_0_1/dlq/replay", "/flows/Listed_0_1/dlq/delete", "/migrations", "/migrations/Listed_0_1", "/project",
            "/project/plan", "/project/apply", "/project/delete", "/shards", "/admin", "/status", "/version", "/config", "/env",
            "/debug", "/members", "/leave", "/down", "/join", "/shutdown", "/ingest/Listed/0.1");
    private static final String DEFINITION = """
            models = [{ name = Listed, versions = [{ version = "0.1", columns = [{ name = id, type = String }] }] }]
            flows = []
            """;

    private static TestNode node;
    private static String address;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void startNode() throws Exception {
        node = TestNode.start(DEFINITION, "");
        TestNode.awaitReady(HTTP, node.adminUrl());
        address = Cluster.get(node.system).selfMember().address().toString();
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.dropDatabaseAndClose();
        }
    }

    private record Listed(String method, String route, String protection) {
        boolean matches(String method, String path) {
            return this.method.equals(method) && path.matches(Pattern.quote(route).replaceAll("\\{[a-zA-Z]+}", "\\\\E.+\\\\Q"));
        }
    }

    private record Answer(int status, String contentType, String body) {
        /** Akka HTTP's own rejection: no route takes this path, or not with this method. */
        boolean noRoute() {
            return status == 405 || (status == 404 && !contentType.startsWith("application/json"));
        }
    }

    @Test
    void everyListedRouteAnswersWithItsProtectionAndNoOtherRouteExists() throws Exception {
        List<Listed> listed = listed();
        assertTrue(listed.size() >= 15, "docs/admin-routes.md lists the routes: " + listed);

        List<String> wrong = new ArrayList<>();
        for (Listed route : listed) {
            String path = route.route().replace("{id}", "Listed_0_1").replace("{flowId}", "Listed_0_1").replace("{type}", "TableSync")
                    .replace("{address}", URLEncoder.encode(address, StandardCharsets.UTF_8)).replace("{operation}", "leave");
            Answer answer = send(route.method(), path);
            boolean ok = switch (route.protection()) {
                case "token" -> answer.status() == 401;
                default -> !answer.noRoute() && answer.status() != 401 && answer.status() != 403 && answer.status() < 500;
            };
            if (!ok) {
                wrong.add(route + " answered " + answer.status() + " " + answer.body());
            }
        }
        assertTrue(wrong.isEmpty(), "listed routes that do not answer as listed (no token sent):\n" + String.join("\n", wrong));

        List<String> unlisted = new ArrayList<>();
        for (String candidate : CANDIDATES) {
            String path = candidate.replace("{address}", URLEncoder.encode(address, StandardCharsets.UTF_8));
            for (String method : METHODS) {
                if (listed.stream().anyMatch(l -> l.matches(method, path))) {
                    continue;
                }
                Answer answer = send(method, path);
                if (!answer.noRoute()) {
                    unlisted.add(method + " " + path + " answered " + answer.status() + " " + answer.body());
                }
            }
        }
        assertTrue(unlisted.isEmpty(), "routes the admin port serves that docs/admin-routes.md does not list:\n" + String.join("\n", unlisted));
        assertFalse(Cluster.get(node.system).selfMember().status().toString().contains("Leaving"), "no probe changed the cluster");
        assertEquals(200, send("GET", "/health/ready").status(), "the node is still ready after the probes");
    }

    private static List<Listed> listed() throws IOException {
        List<Listed> routes = new ArrayList<>();
        for (String line : Files.readAllLines(Infra.repoRoot().resolve("docs/admin-routes.md"))) {
            Matcher m = ROW.matcher(line);
            if (m.find()) {
                routes.add(new Listed(m.group(1), m.group(2), m.group(3)));
            }
        }
        return routes;
    }

    private static Answer send(String method, String path) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(node.adminUrl() + path)).timeout(Duration.ofSeconds(30));
        byte[] body = method.equals("GET") ? new byte[0] : DEFINITION.getBytes(StandardCharsets.UTF_8);
        request.method(method, method.equals("GET") ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        // Headers only, then as much body as a message needs: /cluster/domain-events never ends.
        HttpResponse<InputStream> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
        String contentType = response.headers().firstValue("Content-Type").orElse("");
        String text;
        try (InputStream in = response.body()) {
            text = contentType.startsWith("text/event-stream") ? "(event stream)"
                    : new String(in.readNBytes(300), StandardCharsets.UTF_8);
        }
        return new Answer(response.statusCode(), contentType, text);
    }
}
