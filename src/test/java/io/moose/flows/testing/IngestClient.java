package io.moose.flows.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/** Posts RFC-example records to a node's ingest API, the way a user's producer would. */
public final class IngestClient {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String baseUrl;

    public IngestClient(String baseUrl) {
        this.baseUrl = baseUrl;
    }

    /** A UserActivity record of version 0.0 (0.1 adds a region) with a unique event id. */
    public static ObjectNode userActivity(String version, String eventId, int i) {
        ObjectNode r = JSON.createObjectNode();
        r.put("eventId", eventId);
        r.put("timestamp", 1_700_000_000L + i);
        r.put("userId", "user-" + (i % 97));
        r.put("activity", "click:button-" + (i % 13) + "@/page/" + (i % 5));
        if (!version.equals("0.0")) {
            r.put("region", i % 2 == 0 ? "eu" : "us");
        }
        return r;
    }

    /** Posts records as one request; returns the HTTP status. */
    public int post(String model, String version, List<ObjectNode> records) throws IOException, InterruptedException {
        ArrayNode body = JSON.createArrayNode();
        body.addAll(records);
        HttpRequest request = HttpRequest.newBuilder(URI.create(baseUrl + "/ingest/" + model + "/" + version))
                .timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)))
                .build();
        return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** A reply to {@link #postRaw}: status, body, and how long the request took from send to last byte. */
    public record Reply(int status, String body, Duration took) {
        public com.fasterxml.jackson.databind.JsonNode json() throws IOException {
            return JSON.readTree(body);
        }
    }

    /** Posts {@code body} as is to {@code path} (e.g. /ingest/Model/0.1), with {@code contentType} unless null. */
    public Reply postRaw(String path, byte[] body, String contentType) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(TIMEOUT)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            request.header("Content-Type", contentType);
        }
        long start = System.nanoTime();
        HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(response.statusCode(), response.body(), Duration.ofNanos(System.nanoTime() - start));
    }

    /** Ingests {@code count} UserActivity records of {@code version} with ids prefix-0.. in batches; all must be accepted. */
    public void ingestUserActivity(String version, String prefix, int count, int batch) throws IOException, InterruptedException {
        for (int from = 0; from < count; from += batch) {
            List<ObjectNode> records = new java.util.ArrayList<>();
            for (int i = from; i < Math.min(count, from + batch); i++) {
                records.add(userActivity(version, prefix + "-" + i, i));
            }
            int status = post("UserActivity", version, records);
            if (status != 200) {
                throw new IllegalStateException("ingest of " + prefix + " batch at " + from + " answered " + status);
            }
        }
    }
}
