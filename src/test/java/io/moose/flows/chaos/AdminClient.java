package io.moose.flows.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The admin routes the runner (and other cluster tests) use, on Akka Management's port, asking whichever node answers. */
public final class AdminClient {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A reply, or 0 / empty body when no node answered. */
    public record Reply(int status, String body, String node) {
        public boolean ok() {
            return status >= 200 && status < 300;
        }

        public JsonNode json() throws IOException {
            return JSON.readTree(body);
        }
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<String> adminUrls;
    private final String token;

    public AdminClient(List<String> adminUrls, String token) {
        this.adminUrls = adminUrls;
        this.token = token;
    }

    public Reply get(String path) throws InterruptedException {
        return firstAnswer(url -> HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(10)).GET().build());
    }

    public Reply post(String path, String body) throws InterruptedException {
        return firstAnswer(url -> HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "text/plain; charset=UTF-8")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    /** Whether node {@code i} (1-based) reports itself ready. */
    boolean ready(int i) throws InterruptedException {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(adminUrls.get(i - 1) + "/health/ready"))
                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        }
    }

    /** Members with status Up as node {@code i} sees them, if it answers. */
    Optional<Integer> membersUp(int i) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(adminUrls.get(i - 1) + "/cluster/members"))
                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return Optional.empty();
            }
            int up = 0;
            for (JsonNode m : JSON.readTree(r.body()).path("members")) {
                if (m.path("status").asText().equals("Up")) {
                    up++;
                }
            }
            return Optional.of(up);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private interface RequestFor {
        HttpRequest at(String url);
    }

    /** Tries each node in turn; a node that does not answer or answers 5xx is skipped. */
    private Reply firstAnswer(RequestFor request) throws InterruptedException {
        Reply last = new Reply(0, "", "");
        for (String url : adminUrls) {
            try {
                HttpResponse<String> r = http.send(request.at(url), HttpResponse.BodyHandlers.ofString());
                last = new Reply(r.statusCode(), r.body(), url);
                if (r.statusCode() < 500) {
                    return last;
                }
            } catch (IOException e) {
                last = new Reply(0, String.valueOf(e.getMessage()), url);
            }
        }
        return last;
    }
}
