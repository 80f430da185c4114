package io.moose.flows;

import akka.actor.typed.javadsl.Adapter;
import akka.cluster.Cluster;
import akka.cluster.sharding.ShardRegion;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import io.moose.flows.flow.FlowActor;
import io.moose.flows.model.Hop;
import io.moose.flows.sync.TableSyncActor;
import io.moose.flows.testing.Infra;
import io.moose.flows.testing.TableCounts;
import io.moose.flows.testing.TestNode;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.MemberDescription;
import org.junit.jupiter.api.Test;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * No run outlives the sharded entity that owns it, however the entity ends: its actor fails, it is
 * handed off (the Stop message), its shard region shuts down (a node leaving), the node is downed
 * and its actor system shuts down. After each, the run's consumers are closed (their JMX beans gone),
 * its hop threads have ended (each closes its consumer and its transactional producer before it
 * ends, TransactionalHop; a producer cannot be told from the next run's by JMX, both carry the
 * transactional id as client id), and none of its consumers is still a member of its group (hops
 * assign their partitions and join no group, so that last check holds for table syncs).
 */
class RunsEndWithTheirEntityIT {

    private static final String FLOW = "UserActivity_0_0_ParsedActivity_0_0";
    private static final String SYNC = "UserActivity_0_0";
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final List<Hop> FLOW_HOPS = List.of(Hop.COPY_IN, Hop.TRANSFORM, Hop.COPY_OUT);

    /** One run's resources, as seen from outside: consumer client ids (JMX) and the hop threads. */
    private record RunResources(Set<String> consumers, Set<Thread> threads) {
    }

    @Test
    void runsEndWhenTheirEntityFailsIsHandedOffLosesItsShardRegionOrItsNodeIsDowned() throws Exception {
        try (TestNode node = TestNode.start(TestNode.projectFile(), "");
             Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, Infra.get().kafkaBootstrap()))) {
            ClusterSharding sharding = ClusterSharding.get(node.system);
            Set<String> flowGroups = FLOW_HOPS.stream().map(h -> node.names.consumerGroup(FLOW, h)).collect(Collectors.toSet());
            String syncGroup = node.names.consumerGroup(SYNC, Hop.TABLE_SYNC);

            // 1. The entity's actor fails (a command whose handler throws: GetStatus with no one to reply to).
            RunResources flow = running(flowGroups, FLOW, FLOW_HOPS.size());
            RunResources sync = running(Set.of(syncGroup), null, 0);
            sharding.entityRefFor(FlowActor.ENTITY_KEY, FLOW).tell(new FlowActor.GetStatus(null));
            sharding.entityRefFor(TableSyncActor.ENTITY_KEY, SYNC).tell(new TableSyncActor.GetStatus(null));
            ended("after its actor failed", flow, flowGroups, admin);
            ended("after its actor failed", sync, Set.of(syncGroup), admin);

            // 2. Handoff: the Stop message a shard sends its entities when it moves.
            flow = running(flowGroups, FLOW, FLOW_HOPS.size());
            sync = running(Set.of(syncGroup), null, 0);
            sharding.entityRefFor(FlowActor.ENTITY_KEY, FLOW).tell(new FlowActor.Stop());
            sharding.entityRefFor(TableSyncActor.ENTITY_KEY, SYNC).tell(new TableSyncActor.Stop());
            ended("after a handoff", flow, flowGroups, admin);
            ended("after a handoff", sync, Set.of(syncGroup), admin);

            // 3. The Flow shard region shuts down, as when the node leaves the cluster.
            flow = running(flowGroups, FLOW, FLOW_HOPS.size());
            akka.cluster.sharding.ClusterSharding.get(Adapter.toClassic(node.system)).shardRegion(FlowActor.ENTITY_KEY.name())
                    .tell(ShardRegion.gracefulShutdownInstance(), akka.actor.ActorRef.noSender());
            ended("after its shard region shut down", flow, flowGroups, admin);

            // 4. The node is downed: it shuts its actor system down with the table sync still running.
            sync = running(Set.of(syncGroup), null, 0);
            Cluster cluster = Cluster.get(Adapter.toClassic(node.system));
            cluster.down(cluster.selfAddress());
            node.system.getWhenTerminated().toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            ended("after its node was downed", sync, Set.of(syncGroup), admin);
        }
    }

    /** Waits for a (new) run of the entity: its consumers, and for a flow one thread per hop. */
    private static RunResources running(Set<String> groups, String flowId, int threads) {
        RunResources[] seen = new RunResources[1];
        TableCounts.await("a run of " + groups, TIMEOUT, () -> {
            seen[0] = new RunResources(consumers(groups), hopThreads(flowId));
            return seen[0].consumers().size() >= groups.size() && seen[0].threads().size() >= threads;
        }, () -> String.valueOf(seen[0]));
        return seen[0];
    }

    private static void ended(String when, RunResources run, Set<String> groups, Admin admin) {
        TableCounts.await("the run's clients closed and threads ended " + when, TIMEOUT,
                () -> intersects(consumers(groups), run.consumers()) == 0 && run.threads().stream().noneMatch(Thread::isAlive),
                () -> "open: " + intersect(consumers(groups), run.consumers()) + ", alive: "
                        + run.threads().stream().filter(Thread::isAlive).map(Thread::getName).toList());
        TableCounts.await("no consumer of the run still in its group " + when, TIMEOUT,
                () -> intersects(groupMembers(admin, groups), run.consumers()) == 0,
                () -> "members: " + groupMembers(admin, groups));
    }

    /** Client ids of the open consumers of these groups: a Kafka client's JMX bean lives until it is closed. */
    private static Set<String> consumers(Set<String> groups) {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try {
            return server.queryNames(new ObjectName("kafka.consumer:type=consumer-metrics,*"), null).stream()
                    .map(name -> name.getKeyProperty("client-id"))
                    .filter(id -> groups.stream().anyMatch(g -> id.startsWith("consumer-" + g + "-")))
                    .collect(Collectors.toSet());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Set<Thread> hopThreads(String flowId) {
        if (flowId == null) {
            return Set.of();
        }
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("moose-hop-") && t.getName().contains(flowId + "."))
                .collect(Collectors.toSet());
    }

    private static Set<String> groupMembers(Admin admin, Set<String> groups) {
        try {
            return admin.describeConsumerGroups(groups).all().get(30, TimeUnit.SECONDS).values().stream()
                    .flatMap(g -> g.members().stream()).map(MemberDescription::clientId).collect(Collectors.toSet());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Set<String> intersect(Set<String> a, Set<String> b) {
        Set<String> both = new HashSet<>(a);
        both.retainAll(b);
        return both;
    }

    private static int intersects(Set<String> a, Set<String> b) {
        return intersect(a, b).size();
    }
}
