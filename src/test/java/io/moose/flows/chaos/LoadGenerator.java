package io.moose.flows.chaos;

import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Steady UserActivity ingestion at about {@code rate} records per second from a few worker
 * threads, each spreading its batches over every node. Every record has a unique eventId
 * ({@code <run>-w<worker>-<n>}), which the verification counts per table. Batches go to version
 * 0.0, and half of them to 0.1 once {@code versions} offers it. Stops when told to.
 */
final class LoadGenerator {

    private static final DateTimeFormatter TIMESTAMP = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    private static final String[] ACTIONS = {"click", "view", "scroll", "submit"};

    private final String runId;
    private final IngestClient client;
    private final Ledger ledger;
    private final Supplier<List<String>> versions;
    private final int workers;
    private final int batchSize;
    private final Duration batchInterval;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong recordsSent = new AtomicLong();
    private final List<Thread> threads = new ArrayList<>();

    LoadGenerator(String runId, IngestClient client, Ledger ledger, Supplier<List<String>> versions, int rate, long seed) {
        this.runId = runId;
        this.client = client;
        this.ledger = ledger;
        this.versions = versions;
        this.workers = 4;
        this.batchSize = Math.max(1, Math.min(100, rate / 10));
        this.batchInterval = Duration.ofMillis(1000L * batchSize * workers / Math.max(1, rate));
        for (int w = 0; w < workers; w++) {
            int worker = w;
            Random random = new Random(seed * 31 + w);
            Thread t = new Thread(() -> run(worker, random), "chaos-load-" + w);
            t.setDaemon(true);
            threads.add(t);
        }
    }

    void start() {
        threads.forEach(Thread::start);
    }

    /** Stops sending and waits for the requests under way to finish. */
    void stop() throws InterruptedException {
        running.set(false);
        for (Thread t : threads) {
            t.join();
        }
    }

    long recordsSent() {
        return recordsSent.get();
    }

    private void run(int worker, Random random) {
        long n = 0;
        long next = System.nanoTime();
        try {
            while (running.get()) {
                List<String> offered = versions.get();
                String version = offered.get(random.nextInt(offered.size()));
                List<String> ids = new ArrayList<>(batchSize);
                StringBuilder body = new StringBuilder("[");
                for (int i = 0; i < batchSize; i++, n++) {
                    String id = runId + "-w" + worker + "-" + n;
                    ids.add(id);
                    if (i > 0) {
                        body.append(',');
                    }
                    body.append(record(id, random, version));
                }
                body.append(']');
                recordsSent.addAndGet(batchSize);
                IngestClient.Outcome outcome = client.send("UserActivity", version, body.toString(), worker + (int) n,
                        Duration.ofSeconds(60), ledger, ids);
                if (outcome == IngestClient.Outcome.BAD) {
                    System.err.println("chaos: ingest rejected a generated batch as malformed (a generator or validator bug): " + body);
                }
                next += batchInterval.toNanos();
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                } else {
                    next = System.nanoTime();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String record(String eventId, Random random, String version) {
        String action = ACTIONS[random.nextInt(ACTIONS.length)];
        String activity = action + ":item-" + random.nextInt(50) + "@/page/" + random.nextInt(10);
        StringBuilder json = new StringBuilder()
                .append("{\"eventId\":\"").append(eventId)
                .append("\",\"timestamp\":\"").append(LocalDateTime.now().format(TIMESTAMP))
                .append("\",\"userId\":\"user-").append(random.nextInt(1000))
                .append("\",\"activity\":\"").append(activity).append('"');
        if (version.equals("0.1")) {
            json.append(",\"region\":\"region-").append(random.nextInt(4)).append('"');
        }
        return json.append('}').toString();
    }
}
