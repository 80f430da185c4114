package io.moose.flows.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moose.flows.testing.IngestClient;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.TestNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The alerting rules (ops/prometheus/moose-flows-rules.yml) and the series their promtool tests
 * feed them (moose-flows-rules.test.yml) use metric names and labels a real node's GET /metrics has:
 * a rule on a name no node exposes would never fire. The scrape is kept in target/ (and a copy of
 * one in ops/prometheus/testdata/) to see what a node exposes.
 */
class AlertRulesMatchNodeMetricsIT {

    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final Pattern METRIC = Pattern.compile("\\b(moose_[a-z_]+)\\b");
    private static final Pattern SERIES = Pattern.compile("series: '([a-z_]+)\\{([^}]*)}'");
    private static final Pattern SAMPLE = Pattern.compile("^([a-z_]+)(?:\\{([^}]*)})? ");
    /** Labels Prometheus adds to every scraped series. */
    private static final Set<String> TARGET_LABELS = Set.of("job", "instance");

    @Test
    void everyMetricTheAlertRulesAndTheirTestsUseIsOnANodesMetricsEndpoint() throws Exception {
        Path prometheus = Infra.repoRoot().resolve("ops/prometheus");
        String rules = Files.readString(prometheus.resolve("moose-flows-rules.yml"));
        String ruleTests = Files.readString(prometheus.resolve("moose-flows-rules.test.yml"));
        Set<String> ruleMetrics = new TreeSet<>();
        Matcher m = METRIC.matcher(rules.lines().filter(l -> !l.strip().startsWith("#")).collect(Collectors.joining("\n")));
        while (m.find()) {
            ruleMetrics.add(m.group(1));
        }
        assertTrue(ruleMetrics.size() >= 6, "the rules use the moose metrics: " + ruleMetrics);

        try (TestNode node = TestNode.start(TestNode.projectFile(), "")) {
            HttpClient http = HttpClient.newHttpClient();
            IngestClient ingest = new IngestClient(node.ingestUrl());
            ingest.ingestUserActivity("0.1", "alerts", 5, 5);
            // Counted by status too: a request with an invalid record is answered 400.
            assertEquals(400, ingest.post("UserActivity", "0.1", List.of(IngestClient.userActivity("0.1", "bad", 0).put("timestamp", "never"))));

            Map<String, Set<Set<String>>> exposed = Map.of();
            long deadline = System.nanoTime() + WAIT.toNanos();
            String scrape = "";
            while (System.nanoTime() < deadline) {
                scrape = http.send(HttpRequest.newBuilder(URI.create(node.adminUrl() + "/metrics")).build(),
                        HttpResponse.BodyHandlers.ofString()).body();
                exposed = labelSets(scrape);
                if (exposed.keySet().containsAll(ruleMetrics)) {
                    break;
                }
                Thread.sleep(1000);
            }
            Files.writeString(Infra.repoRoot().resolve("target/node-metrics.prom"), scrape);
            Set<String> missing = new TreeSet<>(ruleMetrics);
            missing.removeAll(exposed.keySet());
            assertTrue(missing.isEmpty(), "metrics the rules use that the node does not expose: " + missing);

            Matcher series = SERIES.matcher(ruleTests);
            int checked = 0;
            while (series.find()) {
                String name = series.group(1);
                if (name.equals("up")) {
                    continue; // Prometheus's own
                }
                Set<String> labels = new TreeSet<>(labelNames(series.group(2)));
                labels.removeAll(TARGET_LABELS);
                assertTrue(exposed.getOrDefault(name, Set.of()).contains(labels),
                        "test series " + name + labels + " has the labels of the node's " + name + ": " + exposed.get(name));
                checked++;
            }
            assertTrue(checked >= 10, "rule tests checked: " + checked);
        }
    }

    /** Metric name (without _bucket etc. suffixes kept as is) to the label-name sets it appears with. */
    private static Map<String, Set<Set<String>>> labelSets(String scrape) {
        Map<String, Set<Set<String>>> byName = new TreeMap<>();
        for (String line : scrape.lines().toList()) {
            Matcher sample = SAMPLE.matcher(line);
            if (!line.startsWith("#") && sample.find()) {
                byName.computeIfAbsent(sample.group(1), k -> new java.util.HashSet<>())
                        .add(new TreeSet<>(sample.group(2) == null ? Set.of() : labelNames(sample.group(2))));
            }
        }
        return byName;
    }

    private static Set<String> labelNames(String labels) {
        Set<String> names = new TreeSet<>();
        for (String pair : labels.split(",(?=[a-zA-Z_]+=)")) {
            if (!pair.isBlank()) {
                names.add(pair.substring(0, pair.indexOf('=')).strip());
            }
        }
        return names;
    }
}
