package io.moose.flows.chaos;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * Table freshness as a user sees it: once a second a marker record is ingested into UserActivity
 * 0.0 (through the same failover client and ledger as the load, so it is verified like any other
 * record), and its arrival in table UserActivity_0_0 is timed by polling ClickHouse.
 */
final class FreshnessProbe {

    /** Times in ms since the run's start; -1 = not (yet). */
    record Sample(String eventId, long sentAt, long acceptedAt, long arrivedAt) {
        long arrivalLatency() {
            return arrivedAt < 0 ? -1 : arrivedAt - sentAt;
        }

        long ingestLatency() {
            return acceptedAt < 0 ? -1 : acceptedAt - sentAt;
        }
    }

    private final String runId;
    private final IngestClient client;
    private final Ledger ledger;
    private final ClickHouseProbe clickhouse;
    private final long startNanos;
    private final AtomicBoolean sending = new AtomicBoolean(true);
    private final AtomicBoolean polling = new AtomicBoolean(true);
    private final List<Sample> samples = new CopyOnWriteArrayList<>();
    private final Map<String, Integer> pending = new ConcurrentHashMap<>();
    private final Thread sender;
    private final Thread poller;

    FreshnessProbe(String runId, IngestClient client, Ledger ledger, ClickHouseProbe clickhouse, long startNanos) {
        this.runId = runId;
        this.client = client;
        this.ledger = ledger;
        this.clickhouse = clickhouse;
        this.startNanos = startNanos;
        this.sender = new Thread(this::send, "chaos-probe-send");
        this.poller = new Thread(this::poll, "chaos-probe-poll");
        sender.setDaemon(true);
        poller.setDaemon(true);
    }

    void start() {
        sender.start();
        poller.start();
    }

    void stopSending() throws InterruptedException {
        sending.set(false);
        sender.join();
    }

    /** Waits until every accepted marker arrived or {@code timeout} passed, then stops polling. */
    void awaitArrivals(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!pending.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(500);
        }
        polling.set(false);
        poller.join();
    }

    List<Sample> samples() {
        return List.copyOf(samples);
    }

    private long now() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    private void send() {
        Random random = new Random();
        try {
            for (int k = 0; sending.get(); k++) {
                long tick = now();
                String id = runId + "-probe-" + k;
                samples.add(new Sample(id, tick, -1, -1));
                int index = samples.size() - 1;
                IngestClient.Outcome outcome = client.send("UserActivity", "0.0", "[" + LoadGenerator.record(id, random, "0.0") + "]",
                        k, Duration.ofSeconds(120), ledger, List.of(id));
                if (outcome == IngestClient.Outcome.ACCEPTED) {
                    samples.set(index, new Sample(id, tick, now(), -1));
                    pending.put(id, index);
                }
                long wait = tick + 1000 - now();
                if (wait > 0) {
                    Thread.sleep(wait);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void poll() {
        while (polling.get()) {
            try {
                Thread.sleep(500);
                if (pending.isEmpty()) {
                    continue;
                }
                String ids = pending.keySet().stream().map(id -> "'" + id + "'").collect(Collectors.joining(","));
                List<List<String>> rows = clickhouse.query("SELECT eventId FROM " + clickhouse.table("UserActivity_0_0")
                        + " WHERE eventId IN (" + ids + ")");
                long at = now();
                for (List<String> row : rows) {
                    Integer index = pending.remove(row.get(0));
                    if (index != null) {
                        Sample s = samples.get(index);
                        samples.set(index, new Sample(s.eventId(), s.sentAt(), s.acceptedAt(), at));
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                // ClickHouse down or the table not there yet: the markers wait, which is what is measured.
            }
        }
    }

    static List<Sample> between(List<Sample> samples, long from, long to) {
        List<Sample> in = new ArrayList<>();
        for (Sample s : samples) {
            if (s.sentAt() >= from && s.sentAt() < to) {
                in.add(s);
            }
        }
        return in;
    }
}
