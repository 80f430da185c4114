package io.moose.flows.kafka;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;

import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Starting a consumer group at chosen offsets. A migration's copy-in must start exactly at the
 * recorded cut (design section 4); without this, a new group starts from the earliest offset.
 */
public final class ConsumerGroupOffsets {

    private ConsumerGroupOffsets() {
    }

    /**
     * Commits {@code startOffsets} for the group only if the group has no committed offset for any
     * partition of {@code startOffsets} yet; a group that already committed keeps its position (so a
     * restarted migration never rewinds or skips). Must run before the group's consumers start:
     * Kafka refuses to alter offsets of a group with active members.
     *
     * @return true when the offsets were written, false when the group already had offsets
     */
    public static CompletionStage<Boolean> initializeIfAbsent(Admin admin, String group,
                                                              Map<TopicPartition, Long> startOffsets) {
        return TopicOffsets.committed(admin, group).thenCompose(committed -> {
            boolean hasAny = startOffsets.keySet().stream().anyMatch(committed::containsKey);
            if (hasAny) {
                return java.util.concurrent.CompletableFuture.completedFuture(false);
            }
            return TopicOffsets.commit(admin, group, startOffsets).thenApply(done -> true);
        });
    }
}
