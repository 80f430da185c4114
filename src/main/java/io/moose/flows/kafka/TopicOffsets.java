package io.moose.flows.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.stream.Collectors;

/** Offset look-ups through the Admin client: partitions, end offsets, committed group offsets. */
public final class TopicOffsets {

    private TopicOffsets() {
    }

    public static CompletionStage<List<TopicPartition>> partitions(Admin admin, String topic) {
        return admin.describeTopics(List.of(topic)).values().get(topic).toCompletionStage()
                .thenApply((TopicDescription d) -> d.partitions().stream()
                        .map(p -> new TopicPartition(topic, p.partition())).toList());
    }

    /**
     * The end of each partition as a read_committed consumer sees it (the last stable offset), so
     * records of open transactions do not count as lag.
     */
    public static CompletionStage<Map<TopicPartition, Long>> endOffsets(Admin admin, List<TopicPartition> partitions) {
        Map<TopicPartition, OffsetSpec> request = partitions.stream()
                .collect(Collectors.toMap(p -> p, p -> OffsetSpec.latest()));
        return admin.listOffsets(request, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().toCompletionStage()
                .thenApply(result -> {
                    Map<TopicPartition, Long> ends = new HashMap<>();
                    result.forEach((p, info) -> ends.put(p, info.offset()));
                    return ends;
                });
    }

    /** The group's committed offsets (only partitions that have one). */
    public static CompletionStage<Map<TopicPartition, Long>> committed(Admin admin, String group) {
        return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().toCompletionStage()
                .thenApply(offsets -> {
                    Map<TopicPartition, Long> committed = new HashMap<>();
                    offsets.forEach((p, o) -> {
                        if (o != null) {
                            committed.put(p, o.offset());
                        }
                    });
                    return committed;
                });
    }

    /** Writes committed offsets for a group with no active members (e.g. a sink that assigns manually). */
    public static CompletionStage<Void> commit(Admin admin, String group, Map<TopicPartition, Long> nextOffsets) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        nextOffsets.forEach((p, o) -> offsets.put(p, new OffsetAndMetadata(o)));
        return admin.alterConsumerGroupOffsets(group, offsets).all().toCompletionStage();
    }
}
