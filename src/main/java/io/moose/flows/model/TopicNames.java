package io.moose.flows.model;

/**
 * The one place that names topics, tables, consumer groups and transactional ids (design section 1).
 * An optional namespace prefixes every Kafka name so several deployments (or test runs) can share a
 * broker; ClickHouse tables are isolated by database instead, so table names never carry it.
 */
public final class TopicNames {

    private static final String GROUP_PREFIX = "moose-flows.";

    private final String kafkaPrefix;

    private TopicNames(String kafkaPrefix) {
        this.kafkaPrefix = kafkaPrefix;
    }

    /** @param namespace empty for none, otherwise a prefix joined with a dot, e.g. {@code staging.UserActivity_0_1} */
    public static TopicNames withNamespace(String namespace) {
        return new TopicNames(namespace.isEmpty() ? "" : namespace + ".");
    }

    public static TopicNames plain() {
        return new TopicNames("");
    }

    public String ingestionTopic(VersionRef version) {
        return kafkaPrefix + version.baseName();
    }

    public String table(VersionRef version) {
        return version.baseName();
    }

    public String flowInput(String flowId) {
        return kafkaPrefix + flowId + "_input";
    }

    public String flowOutput(String flowId) {
        return kafkaPrefix + flowId + "_output";
    }

    public String deadLetter(String flowId) {
        return kafkaPrefix + flowId + "_dlq";
    }

    /** One group per flow (or model version) and hop, never shared: {@code moose-flows.<flowId>.copy-in}. */
    public String consumerGroup(String owner, Hop hop) {
        return GROUP_PREFIX + kafkaPrefix + owner + "." + hop.id();
    }

    /**
     * The persistence type of an entity (journal rows are keyed {@code <type>|<id>}): namespaced like
     * the Kafka names, so deployments sharing one journal database never read each other's state.
     */
    public String persistenceType(String entityType) {
        return kafkaPrefix + entityType;
    }

    /** Stable per owner and hop, so a restarted stream fences the zombie it replaces. */
    public String transactionalId(String owner, Hop hop) {
        return consumerGroup(owner, hop);
    }

    /**
     * One per ingest producer of a node: unique per node so nodes never fence each other, and stable
     * across restarts so a restarted node aborts the transaction its previous run left open.
     */
    public String ingestTransactionalId(String nodeId, int producer) {
        return GROUP_PREFIX + kafkaPrefix + "ingest." + nodeId + "." + producer;
    }
}
