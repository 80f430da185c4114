package io.moose.flows.chaos;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

/**
 * Posts one batch to the ingest API of the nodes, trying the next node while one refuses, and
 * classifies the outcome the way the ledger needs it: a 2xx is accepted; a refused connection, 404
 * (a node that does not run that version yet) or 503 wrote nothing and is retried elsewhere; a
 * timeout, a broken connection after sending or a 5xx other than 503 is unknown and never retried,
 * because a retry of a request that may have been written could duplicate it.
 */
final class IngestClient {

    enum Outcome { ACCEPTED, UNKNOWN, ABANDONED, BAD }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<String> nodeUrls;
    private final Duration requestTimeout;

    IngestClient(List<String> nodeUrls, Duration requestTimeout) {
        this.nodeUrls = nodeUrls;
        this.requestTimeout = requestTimeout;
    }

    int nodes() {
        return nodeUrls.size();
    }

    /**
     * Sends until accepted, unknown, or {@code giveUpAfter} passed with every attempt refused.
     * {@code firstNode} spreads the workers over the nodes.
     */
    Outcome send(String model, String version, String body, int firstNode, Duration giveUpAfter, Ledger ledger,
                 List<String> eventIds) throws InterruptedException {
        long deadline = System.nanoTime() + giveUpAfter.toNanos();
        for (int attempt = 0; ; attempt++) {
            String url = nodeUrls.get(Math.floorMod(firstNode + attempt, nodeUrls.size())) + "/ingest/" + model + "/" + version;
            HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                    .timeout(requestTimeout)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build();
            int status;
            try {
                status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (ConnectException | HttpConnectTimeoutException e) {
                status = -1;
            } catch (IOException e) {
                if (isConnectFailure(e)) {
                    status = -1;
                } else {
                    ledger.unknown(version, eventIds);
                    return Outcome.UNKNOWN;
                }
            }
            if (status >= 200 && status < 300) {
                ledger.accepted(version, eventIds);
                return Outcome.ACCEPTED;
            }
            if (status >= 500 && status != 503) {
                ledger.unknown(version, eventIds);
                return Outcome.UNKNOWN;
            }
            if (status >= 400 && status != 404 && status != 503) {
                ledger.requestsBad.incrementAndGet();
                return Outcome.BAD;
            }
            ledger.requestsRefused.incrementAndGet();
            if (System.nanoTime() > deadline) {
                ledger.requestsAbandoned.incrementAndGet();
                return Outcome.ABANDONED;
            }
            // Once every node has been tried, back off before the next round.
            if ((attempt + 1) % nodeUrls.size() == 0) {
                Thread.sleep(500);
            }
        }
    }

    /** The JDK client wraps a refused connection in a plain IOException at times; nothing was sent then. */
    private static boolean isConnectFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ConnectException || t instanceof HttpConnectTimeoutException) {
                return true;
            }
        }
        return false;
    }
}
