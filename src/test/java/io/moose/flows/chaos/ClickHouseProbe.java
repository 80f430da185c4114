package io.moose.flows.chaos;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The verifier's own view of ClickHouse over plain HTTP, independent of the product's adapter so a
 * bug there cannot hide itself: TabSeparated results, fully qualified table names (18.16).
 */
final class ClickHouseProbe {

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final String url;
    private final String database;

    ClickHouseProbe(String url, String database) {
        this.url = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        this.database = database;
    }

    String table(String name) {
        return "`" + database + "`.`" + name + "`";
    }

    /** Rows of a query, each a list of column texts; throws when ClickHouse does not answer. */
    List<List<String>> query(String sql) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url + "/?query=" + URLEncoder.encode(sql + " FORMAT TabSeparated", StandardCharsets.UTF_8)))
                .timeout(Duration.ofSeconds(60))
                .GET()
                .build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IOException("ClickHouse answered " + response.statusCode() + " to " + sql + ": " + response.body().strip());
        }
        List<List<String>> rows = new ArrayList<>();
        for (String line : response.body().split("\n")) {
            if (!line.isEmpty()) {
                rows.add(List.of(line.split("\t", -1)));
            }
        }
        return rows;
    }

    long count(String table) throws IOException, InterruptedException {
        return Long.parseLong(query("SELECT count() FROM " + table(table)).get(0).get(0));
    }

    boolean tableExists(String table) throws IOException, InterruptedException {
        return !query("SELECT name FROM system.tables WHERE database = '" + database + "' AND name = '" + table + "'").isEmpty();
    }
}
