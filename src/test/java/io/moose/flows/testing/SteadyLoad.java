package io.moose.flows.testing;

import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpConnectTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Steady UserActivity ingestion into a cluster, spread over its nodes, as a client with failover
 * would do it. Keeps a ledger per eventId: accepted (2xx), or unknown (the request may have reached
 * Kafka before the node died). A request that never connected is retried on the next node.
 */
public final class SteadyLoad implements AutoCloseable {

    private final List<IngestClient> nodes;
    private final String version;
    private final String prefix;
    private final int batch;
    private final long periodMillis;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final Thread worker;
    public final Set<String> accepted = ConcurrentHashMap.newKeySet();
    public final Set<String> unknown = ConcurrentHashMap.newKeySet();
    private volatile String failure;

    public SteadyLoad(List<String> ingestUrls, String version, String prefix, int batch, long periodMillis) {
        this.nodes = ingestUrls.stream().map(IngestClient::new).toList();
        this.version = version;
        this.prefix = prefix;
        this.batch = batch;
        this.periodMillis = periodMillis;
        this.worker = new Thread(this::run, "steady-load-" + prefix);
        worker.start();
    }

    private void run() {
        int next = 0;
        int node = 0;
        while (running.get()) {
            List<ObjectNode> records = new ArrayList<>();
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < batch; i++, next++) {
                String id = prefix + "-" + next;
                ids.add(id);
                records.add(IngestClient.userActivity(version, id, next));
            }
            boolean settled = false;
            for (int attempt = 0; attempt < nodes.size() * 20 && !settled && running.get(); attempt++) {
                IngestClient target = nodes.get(node++ % nodes.size());
                try {
                    int status = target.post("UserActivity", version, records);
                    if (status == 200) {
                        accepted.addAll(ids);
                        settled = true;
                    } else if (status != 503 && status != 404) {
                        // 503 and 404 (a node not yet on the newest definition) wrote nothing: try the next node.
                        failure = "ingest answered " + status;
                        return;
                    }
                } catch (ConnectException | HttpConnectTimeoutException notSent) {
                    pause(100);
                } catch (IOException maybeSent) {
                    unknown.addAll(ids);
                    settled = true;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            if (!settled) {
                unknown.addAll(ids);
            }
            pause(periodMillis);
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Why the load stopped early, if it did (a 4xx other than 404 means the test sent something wrong). */
    public java.util.Optional<String> failure() {
        return java.util.Optional.ofNullable(failure);
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        worker.join();
    }
}
