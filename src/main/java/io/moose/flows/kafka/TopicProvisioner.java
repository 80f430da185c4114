package io.moose.flows.kafka;

import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.TopicNames;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Creates every topic a project definition needs: one ingestion topic per model version and each
 * flow's input, output and dead-letter topic. Idempotent: a topic that exists is left as it is
 * (its settings may have been tuned by an operator); only a partition count different from the
 * configured one is reported, because it changes how records spread over consumers.
 */
public final class TopicProvisioner {

    /** What one run did; {@code warnings} never stop a node. */
    public record Result(List<String> created, List<String> existing, List<String> warnings) {
    }

    private final Admin admin;
    private final KafkaSettings settings;

    public TopicProvisioner(Admin admin, KafkaSettings settings) {
        this.admin = admin;
        this.settings = settings;
    }

    /** Every topic of the definition, ingestion topics first, without duplicates. */
    public static List<String> topicsOf(ProjectDefinition definition, TopicNames names) {
        Set<String> topics = new LinkedHashSet<>();
        for (ModelVersion version : definition.allVersions()) {
            topics.add(names.ingestionTopic(version.ref()));
        }
        for (FlowDefinition flow : definition.flows()) {
            topics.add(names.flowInput(flow.id()));
            topics.add(names.flowOutput(flow.id()));
            topics.add(names.deadLetter(flow.id()));
        }
        return List.copyOf(topics);
    }

    /** How often provisioning re-checks that new partitions have leaders; elections take milliseconds. */
    private static final long LEADER_POLL_MILLIS = 100;

    public Result provision(List<String> topics) throws InterruptedException, ExecutionException, TimeoutException {
        Map<String, String> configs = Map.of(
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(settings.retention().toMillis()),
                TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG, Integer.toString(settings.minInsyncReplicas()));
        List<NewTopic> wanted = topics.stream()
                .map(t -> new NewTopic(t, settings.partitions(), settings.replicationFactor()).configs(configs))
                .toList();
        CreateTopicsResult result = admin.createTopics(wanted);
        List<String> created = new ArrayList<>();
        List<String> existing = new ArrayList<>();
        long timeoutMs = settings.adminTimeout().toMillis();
        for (String topic : topics) {
            try {
                result.values().get(topic).get(timeoutMs, TimeUnit.MILLISECONDS);
                created.add(topic);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof TopicExistsException)) {
                    throw e;
                }
                existing.add(topic);
            }
        }
        awaitLeaders(created, timeoutMs);
        return new Result(created, existing, partitionWarnings(existing, timeoutMs));
    }

    /**
     * Returns once every partition of the new topics has a leader. Writes racing a leader election
     * can leave an idempotent producer retrying a stale sequence number forever (KAFKA-14359), so no
     * hop or ingest request should meet a topic before it is fully up.
     */
    private void awaitLeaders(List<String> created, long timeoutMs)
            throws InterruptedException, ExecutionException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!created.isEmpty()) {
            if (leadersElected(created, timeoutMs)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("partitions of " + created + " have no leader after " + timeoutMs + " ms");
            }
            Thread.sleep(LEADER_POLL_MILLIS);
        }
    }

    /** False while the new topics' metadata has not reached the broker we ask, or a partition has no leader yet. */
    private boolean leadersElected(List<String> topics, long timeoutMs)
            throws InterruptedException, ExecutionException, TimeoutException {
        try {
            return admin.describeTopics(topics).all().get(timeoutMs, TimeUnit.MILLISECONDS).values().stream()
                    .allMatch(d -> d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return false;
            }
            throw e;
        }
    }

    private List<String> partitionWarnings(List<String> existing, long timeoutMs)
            throws InterruptedException, ExecutionException, TimeoutException {
        List<String> warnings = new ArrayList<>();
        if (existing.isEmpty()) {
            return warnings;
        }
        Map<String, TopicDescription> descriptions = admin.describeTopics(existing).all()
                .get(timeoutMs, TimeUnit.MILLISECONDS);
        for (String topic : existing) {
            int partitions = descriptions.get(topic).partitions().size();
            if (partitions != settings.partitions()) {
                warnings.add("topic " + topic + " has " + partitions + " partitions, moose-flows.kafka.topics.partitions is "
                        + settings.partitions() + "; left as it is");
            }
        }
        return warnings;
    }
}
