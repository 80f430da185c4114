package io.moose.flows.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.Optional;

/**
 * The command-line client's view of one node's admin routes: JSON in and out, and every failure
 * turned into a {@link Failure} carrying the exit status the CLI documents.
 */
final class AdminClient {

    /** How long to wait for the node to accept the connection before calling it unreachable. */
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /**
     * Longest a request may take: above the node's default apply-timeout (60s), because an apply
     * provisions topics and tables before it answers.
     */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(90);
    /** How much of a reply that is not the expected JSON an error message quotes. */
    private static final int QUOTED_BODY_CHARS = 200;

    /** A request that did not succeed, with the CLI exit status for it. */
    static final class Failure extends Exception {
        private final int exitStatus;
        private final JsonNode body;

        Failure(int exitStatus, String message, JsonNode body) {
            super(message);
            this.exitStatus = exitStatus;
            this.body = body;
        }

        int exitStatus() {
            return exitStatus;
        }

        /** The node's JSON reply, when there was one. */
        JsonNode body() {
            return body;
        }
    }

    private final URI base;
    private final Optional<String> token;
    private final HttpClient http;

    /** @param tls what an https:// URL trusts; empty = the JVM's default CAs */
    AdminClient(String baseUrl, Optional<String> token, Optional<SSLContext> tls) {
        this.base = URI.create(baseUrl.endsWith("/") ? baseUrl : baseUrl + "/");
        this.token = token;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT);
        tls.ifPresent(builder::sslContext);
        this.http = builder.build();
    }

    String baseUrl() {
        return base.toString();
    }

    JsonNode get(String path) throws Failure {
        return send(path, request(path).GET());
    }

    JsonNode post(String path, String body) throws Failure {
        return send(path, request(path).header("Content-Type", "text/plain; charset=utf-8")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(base.resolve(path.startsWith("/") ? path.substring(1) : path))
                .timeout(REQUEST_TIMEOUT)
                .header("Accept", "application/json");
        token.ifPresent(t -> builder.header("Authorization", "Bearer " + t));
        return builder;
    }

    private JsonNode send(String path, HttpRequest.Builder request) throws Failure {
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException | HttpConnectTimeoutException | UnresolvedAddressException e) {
            throw unreachable(e);
        } catch (SSLHandshakeException e) {
            throw new Failure(AdminCli.UNREACHABLE, "TLS handshake with " + base + " failed (" + e.getMessage()
                    + "); to trust the node's certificate give its truststore with --truststore FILE or MOOSE_ADMIN_TRUSTSTORE", null);
        } catch (IOException e) {
            if (e.getCause() instanceof ConnectException || e.getCause() instanceof UnresolvedAddressException) {
                throw unreachable(e);
            }
            if (base.getScheme().equals("http")) {
                throw new Failure(AdminCli.UNREACHABLE, "request to " + base.resolve(path.substring(1)) + " failed: " + e
                        + "; if the node's admin port speaks HTTPS (moose-flows.tls.admin), use an https:// URL", null);
            }
            throw new Failure(AdminCli.UNREACHABLE, "request to " + base.resolve(path.substring(1)) + " failed: " + e, null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure(AdminCli.FAILED, "interrupted", null);
        }
        JsonNode body = parse(response.body());
        int status = response.statusCode();
        if (status / 100 == 2) {
            if (body == null) {
                throw new Failure(AdminCli.FAILED, "the node answered " + path + " with something that is not JSON: "
                        + abbreviate(response.body()), null);
            }
            return body;
        }
        String message = body != null && body.hasNonNull("error") ? body.get("error").asText() : abbreviate(response.body());
        throw switch (status) {
            case 401 -> new Failure(AdminCli.TOKEN_REFUSED, "token refused (give it with --token or MOOSE_ADMIN_TOKEN): " + message, body);
            case 403 -> new Failure(AdminCli.TOKEN_REFUSED, "refused: " + message, body);
            case 404 -> new Failure(AdminCli.NOT_FOUND, message, body);
            case 400, 422 -> new Failure(AdminCli.REFUSED, message, body);
            default -> new Failure(AdminCli.FAILED, "HTTP " + status + ": " + message, body);
        };
    }

    private Failure unreachable(Exception e) {
        return new Failure(AdminCli.UNREACHABLE, "cannot reach the admin API at " + base
                + " (" + e.getClass().getSimpleName() + "); is the node running? Point at one with --url or MOOSE_ADMIN_URL", null);
    }

    private static JsonNode parse(String text) {
        try {
            return text == null || text.isBlank() ? null : AdminJson.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static String abbreviate(String text) {
        return text.length() <= QUOTED_BODY_CHARS ? text : text.substring(0, QUOTED_BODY_CHARS) + "...";
    }
}
