package io.moose.flows.admin;

import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.moose.flows.testing.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Issue 12, played as an attacker against one real node whose admin token, ingest API key and
 * journal password come from the environment (failsafe sets MOOSE_IT_SECRET, see pom.xml): a
 * definition sent over HTTP cannot read the node's environment, files or network, Management's
 * routes cannot change the cluster, leave/down need the token, every write is logged, and the
 * secret shows up in no reply and no log line. The down test runs last: it takes the node out of
 * its cluster.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AdminSecurityIT {

    private static final String SECRET_VARIABLE = "MOOSE_IT_SECRET";
    private static final String SECRET = System.getenv(SECRET_VARIABLE);
    private static final String NOT_ALLOWED = " is not allowed in a definition sent over HTTP";
    private static final String DEFINITION = """
            models = [{ name = Secured, versions = [{ version = "0.1", columns = [
              { name = id, type = String }
              { name = amount, type = Float64 }
            ] }] }]
            flows = []
            """;
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static final ListAppender<ILoggingEvent> LOG = new ListAppender<>();
    /** Every reply this class received, status line, headers and body, for the secret check. */
    private static final List<String> REPLIES = Collections.synchronizedList(new ArrayList<>());

    private static TestNode node;
    private static String self;

    @BeforeAll
    static void startNode() throws Exception {
        assertNotNull(SECRET, SECRET_VARIABLE + " must be set; failsafe sets it (pom.xml)");
        LOG.start();
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).addAppender(LOG);
        // The token, the ingest key and the journal password reach the node the way an operator's
        // would: from the environment. Each contains the secret, so one check covers all three.
        node = TestNode.start(DEFINITION, """
                moose-flows.admin.token = ${%1$s}
                moose-flows.ingest.api-keys = [${%1$s}"-ingest"]
                moose-flows.journal.user = "moose"
                moose-flows.journal.password = ${%1$s}"-journal"
                """.formatted(SECRET_VARIABLE));
        self = Cluster.get(node.system).selfMember().address().toString();
        await("the node Up and its admin port answering", () -> {
            Reply members = send("GET", "/cluster/members", null, null);
            return members.status == 200 && members.body.contains("\"Up\"");
        });
    }

    @AfterAll
    static void stopNode() throws Exception {
        ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).detachAppender(LOG);
        if (node != null) {
            node.close();
        }
    }

    // ---- 1. a definition from a request is data, never a program

    @Test
    @Order(1)
    void planAndApplyRefuseEnvironmentSubstitutionsNamingThemWithoutTheirValues() {
        String body = "flows = []\n# the token, if the node would resolve it\nmodels = [{ name = ${" + SECRET_VARIABLE + "}, versions = [] }]";
        Reply plan = send("POST", "/project/plan", body, null);
        assertEquals(400, plan.status, plan.body);
        assertEquals("substitution ${" + SECRET_VARIABLE + "} at line 3" + NOT_ALLOWED + "; write the values themselves",
                plan.json().get("error").asText());

        Reply apply = send("POST", "/project/apply", body, SECRET);
        assertEquals(400, apply.status, apply.body);
        assertTrue(apply.body.contains("substitution ${" + SECRET_VARIABLE + "} at line 3"), apply.body);

        for (String variable : List.of("${HOME}", "${?PATH}", "${?user.home}", "\"prefix-\"${?JAVA_HOME}")) {
            Reply refused = send("POST", "/project/plan", "flows = []\nmodels = [{ name = " + variable + ", versions = [] }]", null);
            assertEquals(400, refused.status, refused.body);
            assertTrue(refused.json().get("error").asText().contains("at line 2" + NOT_ALLOWED), refused.body);
            for (String value : new String[]{System.getenv("HOME"), System.getenv("PATH"), System.getProperty("user.home")}) {
                assertFalse(value != null && value.length() > 1 && refused.body.contains("\"" + value), variable + ": " + refused.body);
            }
        }
        assertFalse(send("GET", "/project", null, null).body.contains(SECRET));
    }

    @Test
    @Order(2)
    void planRefusesIncludesWithoutReadingTheFileOrFetchingTheUrl() throws Exception {
        Path file = Files.createTempFile("moose-include-", ".conf");
        Files.writeString(file, "models = [{ name = FileContent7f3a, versions = [] }]\nflows = []");
        for (String include : List.of("include file(\"" + file + "\")", "include \"" + file + "\"",
                "include required(file(\"" + file + "\"))", "include classpath(\"reference.conf\")")) {
            Reply refused = send("POST", "/project/plan", "# comment\n" + include, null);
            assertEquals(400, refused.status, refused.body);
            assertTrue(refused.json().get("error").asText().startsWith("include "), refused.body);
            assertTrue(refused.json().get("error").asText().endsWith(" at line 2" + NOT_ALLOWED), refused.body);
            assertFalse(refused.body.contains("FileContent7f3a"), refused.body);
        }

        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            AtomicInteger connections = new AtomicInteger();
            CompletableFuture<Void> listener = CompletableFuture.runAsync(() -> {
                try {
                    server.setSoTimeout(100);
                    while (!server.isClosed()) {
                        try (Socket ignored = server.accept()) {
                            connections.incrementAndGet();
                        } catch (SocketTimeoutException idle) {
                            // keep listening until the test closes the socket
                        }
                    }
                } catch (IOException closed) {
                    // the test is done
                }
            });
            String url = "http://127.0.0.1:" + server.getLocalPort() + "/x.conf";
            Reply refused = send("POST", "/project/plan", "include url(\"" + url + "\")", null);
            assertEquals(400, refused.status, refused.body);
            assertEquals("include url(\"" + url + "\") at line 1" + NOT_ALLOWED, refused.json().get("error").asText());
            Thread.sleep(500);
            assertEquals(0, connections.get(), "the node connected to the URL");
            server.close();
            listener.get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(3)
    void aDefinitionThatIsPlainDataIsStillPlanned() {
        Reply plan = send("POST", "/project/plan", DEFINITION, null);
        assertEquals(200, plan.status, plan.body);
        assertTrue(plan.json().get("changesNothing").asBoolean(), plan.body);
    }

    // ---- 2. every route that changes something needs the token, Management's included

    @Test
    @Order(10)
    void managementsOwnMemberRoutesCannotDownOrRemoveAMember() throws Exception {
        for (String token : new String[]{null, SECRET}) {
            Reply put = send("PUT", "/cluster/members/" + self, "operation=Down", token, "application/x-www-form-urlencoded");
            assertEquals(405, put.status, put.body);
            Reply delete = send("DELETE", "/cluster/members/" + self, null, token);
            assertEquals(200, send("GET", "/cluster/members/" + self, null, token).status, "reads stay");
            assertEquals(405, delete.status, delete.body);
            Reply leave = send("PUT", "/cluster/members/" + self, "operation=Leave", token, "application/x-www-form-urlencoded");
            assertEquals(405, leave.status, leave.body);
        }
        assertStaysUp();
    }

    @Test
    @Order(11)
    void leaveAndDownAnswer401WithoutTheTokenOrWithAWrongOneAndChangeNothing() throws Exception {
        for (String operation : List.of("leave", "down")) {
            Reply missing = send("POST", "/cluster/members/" + self + "/" + operation, "", null);
            assertEquals(401, missing.status, missing.body);
            assertTrue(missing.body.contains("missing or wrong admin token"), missing.body);
            assertEquals(401, send("POST", "/cluster/members/" + self + "/" + operation, "", SECRET + "x").status);
            assertEquals(401, send("POST", "/cluster/members/" + self + "/" + operation, "", SECRET.substring(1)).status);
        }
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int cli = AdminCli.run(new String[]{"--url", node.adminUrl(), "down", self}, new java.io.PrintStream(new java.io.ByteArrayOutputStream()),
                new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8), java.util.Map.of(), false);
        assertEquals(AdminCli.TOKEN_REFUSED, cli, err.toString(java.nio.charset.StandardCharsets.UTF_8));
        assertStaysUp();

        Reply stranger = send("POST", "/cluster/members/akka://moose-flows@127.0.0.1:1/down", "", SECRET);
        assertEquals(404, stranger.status, stranger.body);
        assertEquals(400, send("POST", "/cluster/members/akka://moose-flows@no-port/leave", "", SECRET).status);
        // Only leave and down are routes (docs/admin-routes.md): any other operation is Akka's "no such method here".
        assertEquals(405, send("POST", "/cluster/members/" + self + "/frobnicate", "", SECRET).status);
        assertStaysUp();
    }

    @Test
    @Order(13)
    void withoutAConfiguredTokenLeaveAndDownAre403AndProtectedReadsIncludeManagementsClusterRoutes() throws Exception {
        try (TestNode guarded = TestNode.start(DEFINITION, """
                moose-flows.admin.token = ""
                moose-flows.admin.protect-reads = on
                """)) {
            String address = Cluster.get(guarded.system).selfMember().address().toString();
            String admin = guarded.adminUrl();
            await("the guarded node's admin port answering", () -> send("GET", admin, "/health/alive", null, null, null).status == 200);
            for (String operation : List.of("leave", "down")) {
                Reply refused = send("POST", admin, "/cluster/members/" + address + "/" + operation, "", "anything", null);
                assertEquals(403, refused.status, refused.body);
                assertTrue(refused.body.contains("no admin token is configured"), refused.body);
            }
            for (String read : List.of("/cluster/members", "/cluster/members/" + address, "/cluster/shards/Flow", "/flows", "/project")) {
                assertEquals(403, send("GET", admin, read, null, null, null).status, read);
            }
            assertEquals(403, send("PUT", admin, "/cluster/members/" + address, "operation=Down", null,
                    "application/x-www-form-urlencoded").status);
            await("the guarded node ready", () -> send("GET", admin, "/health/ready", null, null, null).status == 200);
            assertEquals(MemberStatus.up(), Cluster.get(guarded.system).selfMember().status());
        }
    }

    @Test
    @Order(12)
    void everyAdminWriteIsLoggedWithRouteStatusAndCallerButNeverTheToken() {
        send("POST", "/flows/Nope_0_1/pause", "", SECRET);
        List<String> audit = logLines(AdminRoutes.AUDIT_LOGGER);
        String path = "/cluster/members/" + self + "/down";
        assertTrue(audit.contains("admin write POST " + path + " -> 401 from 127.0.0.1"), String.join("\n", audit));
        assertTrue(audit.contains("admin write POST /cluster/members/akka://moose-flows@127.0.0.1:1/down -> 404 from 127.0.0.1"),
                String.join("\n", audit));
        assertTrue(audit.contains("admin write POST /flows/Nope_0_1/pause -> 404 from 127.0.0.1"), String.join("\n", audit));
        assertTrue(audit.contains("admin write POST /project/apply -> 400 from 127.0.0.1"), String.join("\n", audit));
        audit.forEach(line -> assertFalse(line.contains(SECRET.substring(1)), line));
    }

    // ---- nothing secret in any reply or log line

    @Test
    @Order(20)
    void theSecretAppearsInNoReplyAndNoLogLineWhateverIsSent() {
        String wrong = SECRET + "-wrong";
        for (String path : List.of("/project", "/flows", "/flows/Nope_0_1", "/migrations", "/migrations/Nope", "/shards",
                "/metrics", "/cluster/members", "/cluster/members/" + self, "/health/ready", "/health/alive", "/nope")) {
            send("GET", path, null, null);
            send("GET", path, null, wrong);
        }
        for (String body : List.of("", "models = [ {", "models = ${" + SECRET_VARIABLE + "}", "include file(\"/etc/hostname\")",
                "models = [{ name = x }]\nflows = 3", DEFINITION)) {
            send("POST", "/project/plan", body, null);
            send("POST", "/project/apply", body, null);
            send("POST", "/project/apply", body, wrong);
            send("POST", "/project/apply", body, SECRET);
        }
        for (String path : List.of("/flows/Nope_0_1/pause", "/flows/Secured_0_1/resume", "/cluster/members/" + self + "/down")) {
            send("POST", path, "", null);
            send("POST", path, "", wrong);
        }
        for (String key : new String[]{null, wrong, SECRET, SECRET + "-ingest-wrong"}) {
            for (String body : List.of("{", "[{\"id\": 1}]", "[{\"id\": \"a\", \"amount\": 1.5, \"extra\": true}]")) {
                send("POST", node.ingestUrl(), "/ingest/Secured/0.1", body, key, "application/json");
                send("POST", node.ingestUrl(), "/ingest/Nope", body, key, "application/json");
            }
        }
        Reply project = send("GET", "/project", null, SECRET);
        assertEquals(200, project.status, project.body);

        List<String> replies;
        synchronized (REPLIES) {
            replies = new ArrayList<>(REPLIES);
        }
        assertTrue(replies.size() > 100, "every route was tried: " + replies.size());
        for (String reply : replies) {
            assertFalse(reply.contains(SECRET), reply);
        }
        List<String> lines = logLines("");
        assertTrue(lines.size() > 10, "the log was captured");
        for (String line : lines) {
            assertFalse(line.contains(SECRET), line);
        }
    }

    // ---- last: downing takes this node out of its cluster

    @Test
    @Order(100)
    void downWithTheTokenDownsTheMemberThroughTheCli() throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int status = AdminCli.run(new String[]{"--url", node.adminUrl(), "--token", SECRET, "--json", "down", self},
                new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
                new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8), java.util.Map.of(), false);
        assertEquals(0, status, err.toString(java.nio.charset.StandardCharsets.UTF_8));
        Reply down = new Reply(200, out.toString(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("down", down.json().get("operation").asText(), down.body);
        assertEquals(self, down.json().get("address").asText(), down.body);
        // A downed node runs coordinated shutdown, which terminates its actor system.
        node.system.getWhenTerminated().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
        // The path is logged as sent: the CLI percent-encodes the address's slashes.
        String encoded = self.replace("//", "%2F%2F");
        assertTrue(logLines(AdminRoutes.AUDIT_LOGGER).contains("admin write POST /cluster/members/" + encoded + "/down -> 200 from 127.0.0.1"),
                String.join("\n", logLines(AdminRoutes.AUDIT_LOGGER)));
    }

    // ---- helpers

    private record Reply(int status, String body) {
        JsonNode json() {
            try {
                return AdminJson.MAPPER.readTree(body);
            } catch (IOException e) {
                return fail("not JSON: " + body);
            }
        }
    }

    private static void assertStaysUp() throws InterruptedException {
        long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < until) {
            assertEquals(MemberStatus.up(), Cluster.get(node.system).selfMember().status());
            Thread.sleep(100);
        }
        Reply members = send("GET", "/cluster/members/" + self, null, null);
        assertEquals(200, members.status, members.body);
        assertTrue(members.body.contains("\"Up\""), members.body);
    }

    private static Reply send(String method, String path, String body, String token) {
        return send(method, path, body, token, null);
    }

    private static Reply send(String method, String path, String body, String token, String contentType) {
        return send(method, node.adminUrl(), path, body, token, contentType);
    }

    private static Reply send(String method, String base, String path, String body, String token, String contentType) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(WAIT)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        try {
            HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
            REPLIES.add(response.statusCode() + " " + response.headers().map() + "\n" + response.body());
            return new Reply(response.statusCode(), response.body());
        } catch (IOException e) {
            return new Reply(-1, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Formatted messages (and their exceptions) of the captured log events whose logger starts with {@code prefix}. */
    private static List<String> logLines(String prefix) {
        List<ILoggingEvent> events;
        synchronized (LOG) {
            events = new ArrayList<>(LOG.list);
        }
        List<String> lines = new ArrayList<>();
        for (ILoggingEvent event : events) {
            if (!event.getLoggerName().startsWith(prefix)) {
                continue;
            }
            StringBuilder line = new StringBuilder(event.getFormattedMessage());
            for (IThrowableProxy t = event.getThrowableProxy(); t != null; t = t.getCause()) {
                line.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
            }
            lines.add(line.toString());
        }
        return lines;
    }

    private static void await(String what, java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (done.getAsBoolean()) {
                return;
            }
            Thread.sleep(200);
        }
        fail("timed out waiting for " + what);
    }
}
