package io.moose.flows.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.moose.flows.node.TlsSettings;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.SelfSignedCertificate;
import io.moose.flows.testing.TestNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS on both ports of a real node with a self-signed certificate made by keytool in the test: ingest
 * and admin answer over HTTPS and only over HTTPS, the node forms its cluster through Cluster
 * Bootstrap probing its own HTTPS admin port (trusting the truststore), the CLI talks to it with
 * {@code --truststore}, and a node whose keystore cannot be opened does not start and says which key.
 */
class HttpsPortsIT {

    private static final String PASSWORD = "tls-it-6c1f9e";
    private static final String DEFINITION = """
            models = [{ name = Secure, versions = [{ version = "0.1", columns = [
              { name = id, type = String }
            ] }] }]
            flows = []
            """;
    private static final Duration WAIT = Duration.ofSeconds(120);

    private static Path dir;
    private static SelfSignedCertificate certificate;
    private static TestNode node;
    private static HttpClient trusting;

    @BeforeAll
    static void startNode() throws Exception {
        dir = Files.createTempDirectory("moose-tls-");
        certificate = SelfSignedCertificate.create(dir, PASSWORD);
        int adminPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            adminPort = socket.getLocalPort();
        }
        node = TestNode.start(DEFINITION, String.join("\n",
                "moose-flows.admin.port = " + adminPort,
                "moose-flows.tls { ingest = on, admin = on",
                "  keystore = \"" + certificate.keystore() + "\", keystore-password = \"" + PASSWORD + "\"",
                "  truststore = \"" + certificate.truststore() + "\", truststore-password = \"" + PASSWORD + "\" }",
                // One contact point, itself, probed over HTTPS: the cluster forms only if the probe trusts it.
                "moose-flows.node.bootstrap = on",
                "moose-flows.node.contact-points = [{ host = \"127.0.0.1\", port = " + adminPort + " }]",
                "moose-flows.node.required-contact-points = 1"));
        SSLContext context = TlsSettings.clientContext(certificate.truststore(), PASSWORD.toCharArray(), "PKCS12", "truststore", "password");
        trusting = HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(5)).build();
        // Ready over HTTPS: the node joined the cluster its bootstrap formed by probing its own HTTPS admin port.
        TestNode.awaitReady(trusting, "https://127.0.0.1:" + node.adminPort);
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.dropDatabaseAndClose();
        }
    }

    @Test
    void ingestAnswersOverHttpsToAClientTrustingTheCertificateAndToNothingElse() throws Exception {
        String https = "https://127.0.0.1:" + node.services.ingest().port() + "/ingest/Secure/0.1";
        HttpResponse<String> accepted = trusting.send(post(https, "{\"id\":\"over-tls\"}"), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, accepted.statusCode(), accepted.body());
        assertTrue(accepted.body().contains("\"accepted\":1"), accepted.body());

        HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        assertThrows(SSLHandshakeException.class, () -> plain.send(post(https, "{\"id\":\"untrusted\"}"), HttpResponse.BodyHandlers.ofString()),
                "a client that does not trust the self-signed certificate");
        assertThrows(IOException.class, () -> plain.send(post(https.replace("https:", "http:"), "{\"id\":\"plain\"}"),
                HttpResponse.BodyHandlers.ofString()), "plain HTTP on the TLS port");

        long deadline = System.nanoTime() + WAIT.toNanos();
        List<List<String>> stored = List.of();
        while (System.nanoTime() < deadline && stored.isEmpty()) {
            Thread.sleep(300);
            stored = node.clickhouse.query("SELECT id FROM " + node.namespace + ".Secure_0_1 ORDER BY id")
                    .toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
        assertEquals(List.of(List.of("over-tls")), stored, "only the record sent over TLS to a trusting client is stored");
    }

    @Test
    void theAdminPortAnswersOverHttpsAndBootstrapFormedTheClusterThroughIt() throws Exception {
        String https = "https://127.0.0.1:" + node.adminPort;
        int ready = trusting.send(HttpRequest.newBuilder(URI.create(https + "/health/ready")).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
        assertEquals(200, ready, "ready over HTTPS: the node joined the cluster its bootstrap formed over HTTPS");
        HttpResponse<String> members = trusting.send(HttpRequest.newBuilder(URI.create(https + "/cluster/members")).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode member = AdminJson.MAPPER.readTree(members.body()).get("members").get(0);
        assertEquals("Up", member.get("status").asText(), members.body());

        HttpResponse<String> paused = trusting.send(HttpRequest.newBuilder(URI.create(https + "/flows/Secure_0_1/pause"))
                .header("Authorization", "Bearer test-token").POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, paused.statusCode(), paused.body());
        HttpResponse<String> resumed = trusting.send(HttpRequest.newBuilder(URI.create(https + "/flows/Secure_0_1/resume"))
                .header("Authorization", "Bearer test-token").POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, resumed.statusCode(), resumed.body());

        HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        assertThrows(IOException.class, () -> plain.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.adminPort
                + "/health/ready")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.discarding()), "plain HTTP on the TLS admin port");
    }

    @Test
    void theCliTalksTlsWithATruststoreAndSaysHowWhenItLacksOne() {
        String url = "https://127.0.0.1:" + node.adminPort;
        Map<String, String> password = Map.of("MOOSE_ADMIN_TRUSTSTORE_PASSWORD", PASSWORD);

        Cli byOption = cli(password, "--url", url, "--truststore", certificate.truststore().toString(), "--json", "flows");
        assertEquals(AdminCli.OK, byOption.status, byOption.err);
        assertTrue(byOption.out.contains("Secure_0_1"), byOption.out);

        Cli byEnvironment = cli(Map.of("MOOSE_ADMIN_TRUSTSTORE", certificate.truststore().toString(),
                "MOOSE_ADMIN_TRUSTSTORE_PASSWORD", PASSWORD, "MOOSE_ADMIN_URL", url), "flows");
        assertEquals(AdminCli.OK, byEnvironment.status, byEnvironment.err);
        assertTrue(byEnvironment.out.contains("Secure_0_1"), byEnvironment.out);

        Cli untrusted = cli(Map.of(), "--url", url, "flows");
        assertEquals(AdminCli.UNREACHABLE, untrusted.status, untrusted.err);
        assertTrue(untrusted.err.contains("TLS handshake with " + url + "/ failed") && untrusted.err.contains("--truststore FILE"), untrusted.err);

        Cli plainUrl = cli(Map.of(), "--url", url.replace("https:", "http:"), "flows");
        assertEquals(AdminCli.UNREACHABLE, plainUrl.status, plainUrl.err);
        assertTrue(plainUrl.err.contains("use an https:// URL"), plainUrl.err);

        Cli wrongPassword = cli(Map.of("MOOSE_ADMIN_TRUSTSTORE_PASSWORD", "not-" + PASSWORD),
                "--url", url, "--truststore", certificate.truststore().toString(), "flows");
        assertEquals(AdminCli.USAGE, wrongPassword.status, wrongPassword.err);
        assertTrue(wrongPassword.err.contains("MOOSE_ADMIN_TRUSTSTORE_PASSWORD: wrong password for"), wrongPassword.err);
        assertFalse(wrongPassword.err.contains(PASSWORD), wrongPassword.err);
    }

    @Test
    void aNodeWhoseKeystoreCannotBeOpenedDoesNotStartAndNamesTheKey() throws Exception {
        Started missing = startJar(Map.of("MOOSE_TLS_ADMIN", "on", "MOOSE_TLS_KEYSTORE", dir.resolve("nowhere.p12").toString()));
        assertEquals(2, missing.status, missing.output);
        assertTrue(missing.output.contains("moose-flows cannot start: moose-flows.tls.keystore: cannot read "
                + dir.resolve("nowhere.p12") + " (no such file)"), missing.output);

        String wrong = "wrong-" + PASSWORD;
        Started badPassword = startJar(Map.of("MOOSE_TLS_INGEST", "on", "MOOSE_TLS_KEYSTORE", certificate.keystore().toString(),
                "MOOSE_TLS_KEYSTORE_PASSWORD", wrong));
        assertEquals(2, badPassword.status, badPassword.output);
        assertTrue(badPassword.output.contains("moose-flows cannot start: moose-flows.tls.keystore-password: wrong password for "
                + certificate.keystore()), badPassword.output);
        assertFalse(badPassword.output.contains(wrong), "the password is never printed: " + badPassword.output);
    }

    // ---- helpers

    private static HttpRequest post(String url, String body) {
        return HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private record Cli(int status, String out, String err) {
    }

    private static Cli cli(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = AdminCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), env, false);
        return new Cli(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private record Started(int status, String output) {
    }

    /** Starts the packaged node as an operator does, with {@code env} added; it is expected to stop at once. */
    private static Started startJar(Map<String, String> env) throws Exception {
        Path root = Infra.repoRoot();
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", root.resolve("target/moose-flows.jar").toString())
                .directory(root.toFile()).redirectErrorStream(true);
        builder.environment().putAll(env);
        Process process = builder.start();
        if (!process.waitFor(90, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("the node started although its keystore cannot be opened");
        }
        return new Started(process.exitValue(), new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
