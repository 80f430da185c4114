package io.moose.flows.ingest;

import com.typesafe.config.Config;

import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/** moose-flows.ingest.* (and the node identity the ingest producers' transactional ids derive from). */
public record IngestSettings(String iface, int port, long maxBodySize, Duration produceTimeout, Set<String> apiKeys,
                             Duration producerLinger, int producers, String nodeId, Duration bodyReadTimeout,
                             int maxReportedProblems, int maxRecordsPerTransaction, int maxNestingDepth,
                             long singleBatchMaxBytes) {

    /** Characters Kafka accepts in a transactional id and that need no quoting in logs. */
    private static final Pattern UNSAFE = Pattern.compile("[^A-Za-z0-9._-]");

    public static IngestSettings from(Config config) {
        Config c = config.getConfig("moose-flows.ingest");
        int producers = c.getInt("producers");
        if (producers < 1) {
            throw new IllegalArgumentException("moose-flows.ingest.producers: must be at least 1, got " + producers);
        }
        long singleBatch = c.getBytes("single-batch-max-bytes");
        if (singleBatch < 0 || singleBatch > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("moose-flows.ingest.single-batch-max-bytes: must be between 0 and 2GiB, got " + singleBatch);
        }
        return new IngestSettings(c.getString("interface"), c.getInt("port"), c.getBytes("max-body-size"),
                c.getDuration("produce-timeout"), Set.copyOf(c.getStringList("api-keys")), c.getDuration("producer-linger"),
                producers, nodeId(config), c.getDuration("body-read-timeout"), c.getInt("max-reported-problems"),
                c.getInt("max-records-per-transaction"), c.getInt("max-nesting-depth"),
                singleBatch);
    }

    /** Without the API keys: settings may be logged, keys never. */
    @Override
    public String toString() {
        return "IngestSettings[iface=" + iface + ", port=" + port + ", maxBodySize=" + maxBodySize
                + ", apiKeys=" + apiKeys.size() + " configured, producers=" + producers + ", nodeId=" + nodeId
                + ", maxNestingDepth=" + maxNestingDepth + "]";
    }

    private static String nodeId(Config config) {
        String configured = config.getString("moose-flows.ingest.node-id");
        if (!configured.isEmpty()) {
            return UNSAFE.matcher(configured).replaceAll("_");
        }
        int port = config.getInt("moose-flows.node.remote-port");
        // Port 0 (tests) gives no stable identity; a random one at least never fences another node.
        String derived = port == 0 ? UUID.randomUUID().toString()
                : config.getString("moose-flows.node.hostname") + "-" + port;
        return UNSAFE.matcher(derived).replaceAll("_");
    }
}
