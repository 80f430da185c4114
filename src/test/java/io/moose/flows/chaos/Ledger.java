package io.moose.flows.chaos;

import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the load generator knows about every record it sent, per model version ("0.0", "0.1"):
 * accepted (a 2xx reply: must arrive exactly once) or unknown (the request timed out or the
 * connection broke after sending: may arrive at most once). Records of a request that was refused
 * (connection refused, 404, 503) are written nowhere and are not listed.
 */
public final class Ledger {

    private final Map<String, Set<String>> accepted = new ConcurrentHashMap<>();
    private final Map<String, Set<String>> unknown = new ConcurrentHashMap<>();
    final AtomicLong requestsAccepted = new AtomicLong();
    final AtomicLong requestsRefused = new AtomicLong();
    final AtomicLong requestsUnknown = new AtomicLong();
    final AtomicLong requestsAbandoned = new AtomicLong();
    final AtomicLong requestsBad = new AtomicLong();

    void accepted(String version, Collection<String> eventIds) {
        requestsAccepted.incrementAndGet();
        set(accepted, version).addAll(eventIds);
    }

    void unknown(String version, Collection<String> eventIds) {
        requestsUnknown.incrementAndGet();
        set(unknown, version).addAll(eventIds);
    }

    public Set<String> accepted(String version) {
        return set(accepted, version);
    }

    public Set<String> unknown(String version) {
        return set(unknown, version);
    }

    private static Set<String> set(Map<String, Set<String>> sets, String version) {
        return sets.computeIfAbsent(version, v -> ConcurrentHashMap.newKeySet());
    }
}
