package io.moose.flows.kafka;

import com.typesafe.config.Config;
import org.apache.kafka.clients.CommonClientConfigs;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** moose-flows.kafka.* */
public record KafkaSettings(String bootstrapServers, Map<String, String> clientProperties, Duration adminTimeout,
                            int partitions, short replicationFactor, int minInsyncReplicas, Duration retention) {

    public static KafkaSettings from(Config config) {
        Config c = config.getConfig("moose-flows.kafka");
        Map<String, String> props = new HashMap<>();
        c.getConfig("client-properties").entrySet()
                .forEach(e -> props.put(e.getKey().replace("\"", ""), String.valueOf(e.getValue().unwrapped())));
        Config topics = c.getConfig("topics");
        int replication = topics.getInt("replication-factor");
        if (replication < 1 || replication > Short.MAX_VALUE) {
            throw new IllegalArgumentException("moose-flows.kafka.topics.replication-factor: must be at least 1, got " + replication);
        }
        int partitions = topics.getInt("partitions");
        if (partitions < 1) {
            throw new IllegalArgumentException("moose-flows.kafka.topics.partitions: must be at least 1, got " + partitions);
        }
        return new KafkaSettings(c.getString("bootstrap-servers"), Map.copyOf(props), c.getDuration("admin-timeout"),
                partitions, (short) replication, topics.getInt("min-insync-replicas"), topics.getDuration("retention"));
    }

    /** Bootstrap servers plus the operator's client properties (security etc.), for any Kafka client. */
    public Map<String, Object> commonClientProperties() {
        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        return props;
    }
}
