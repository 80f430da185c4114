package io.moose.flows.node;

import akka.actor.Address;
import akka.actor.typed.Behavior;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ClusterEvent;
import akka.cluster.Member;
import akka.cluster.MemberStatus;
import akka.cluster.UniqueAddress;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Down;
import akka.cluster.typed.Subscribe;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Downs an unreachable member at once when its process is certainly gone, instead of after the split
 * brain resolver's stable-after (2 s, and up to a second more for its tick): a SIGKILLed or crashed
 * node's host refuses connections to its cluster (Artery) port, while a node that is only starved,
 * paused or cut off still has its port open (its kernel accepts the connection) or does not answer
 * at all. Only "connection refused" counts; a timeout or anything else leaves the member to the
 * resolver.
 *
 * <p>It acts only from a majority, the same side keep-majority would keep: the reachable members
 * (Up or Leaving, this node among them) without the gone ones must outnumber the rest. A minority
 * node (e.g. behind a firewall that rejects) never downs the majority this way, and a two-node
 * cluster is left to the resolver. Downing a member whose process has exited cannot split the
 * cluster; what keeps the data exact after it is the same as after the resolver's decision (runs
 * fenced by transactional id and sink ingress, the journal's unique sequence numbers).
 *
 * <p>The member's address must still belong to the same incarnation that was probed: a node that
 * restarted on the same port listens again, so its probe connects and nothing is downed.
 */
public final class GoneMemberDowning {

    /** Marker of the log line when a member is downed here (tests read it). */
    public static final String DOWNED_LOG = "its cluster port refuses connections";

    interface Command {
    }

    private record Unreachable(Member member) implements Command {
    }

    private record Reachable(Member member) implements Command {
    }

    private record Removed(Member member) implements Command {
    }

    private record Probed(UniqueAddress member, Outcome outcome, String detail) implements Command {
    }

    private enum ProbeTick implements Command {
        INSTANCE
    }

    enum Outcome {
        /** Nothing listens on the port: the process is gone. */
        REFUSED,
        /** Something listens: the process lives (starved or paused, maybe). */
        LISTENING,
        /** No answer or another error: nothing known. */
        UNKNOWN
    }

    private GoneMemberDowning() {
    }

    /**
     * @param probeTimeout  how long a probe's connect may take before its outcome is "unknown"
     * @param probeInterval how often members that stay unreachable are probed again (one may die later)
     */
    public static Behavior<Command> create(Duration probeTimeout, Duration probeInterval) {
        return Behaviors.setup(ctx -> {
            Cluster cluster = Cluster.get(ctx.getSystem());
            cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.UnreachableMember.class,
                    e -> new Unreachable(e.member())), ClusterEvent.UnreachableMember.class));
            cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.ReachableMember.class,
                    e -> new Reachable(e.member())), ClusterEvent.ReachableMember.class));
            cluster.subscriptions().tell(Subscribe.create(ctx.messageAdapter(ClusterEvent.MemberRemoved.class,
                    e -> new Removed(e.member())), ClusterEvent.MemberRemoved.class));
            Executor blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
            Set<Member> unreachable = new HashSet<>();
            Set<UniqueAddress> probing = new HashSet<>();
            return Behaviors.withTimers(timers -> {
                timers.startTimerWithFixedDelay(ProbeTick.INSTANCE, probeInterval, probeInterval);
                return Behaviors.receive(Command.class)
                        .onMessage(Unreachable.class, u -> {
                            unreachable.add(u.member());
                            probe(ctx, u.member(), probing, blocking, probeTimeout);
                            return Behaviors.same();
                        })
                        .onMessage(Reachable.class, r -> {
                            unreachable.removeIf(m -> m.uniqueAddress().equals(r.member().uniqueAddress()));
                            return Behaviors.same();
                        })
                        .onMessage(Removed.class, r -> {
                            unreachable.removeIf(m -> m.uniqueAddress().equals(r.member().uniqueAddress()));
                            return Behaviors.same();
                        })
                        .onMessageEquals(ProbeTick.INSTANCE, () -> {
                            unreachable.forEach(m -> probe(ctx, m, probing, blocking, probeTimeout));
                            return Behaviors.same();
                        })
                        .onMessage(Probed.class, p -> {
                            probing.remove(p.member());
                            if (p.outcome() == Outcome.REFUSED) {
                                downIfMajority(ctx, cluster, p.member(), p.detail());
                            }
                            return Behaviors.same();
                        })
                        .build();
            });
        });
    }

    private static void probe(ActorContext<Command> ctx, Member member, Set<UniqueAddress> probing, Executor blocking,
                              Duration timeout) {
        if (!probing.add(member.uniqueAddress())) {
            return;
        }
        Address address = member.address();
        String host = address.getHost().orElse(null);
        int port = address.getPort().orElse(-1);
        if (host == null || port < 0) {
            probing.remove(member.uniqueAddress());
            return;
        }
        ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> probe(host, port, timeout), blocking),
                (outcome, error) -> new Probed(member.uniqueAddress(),
                        error != null ? Outcome.UNKNOWN : outcome, host + ":" + port));
    }

    /** One TCP connect to the member's cluster port, closed at once (Artery takes an empty connection quietly). */
    static Outcome probe(String host, int port, Duration timeout) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
            return Outcome.LISTENING;
        } catch (ConnectException refused) {
            // "Connection refused"; a connect timeout is a SocketTimeoutException instead.
            return Outcome.REFUSED;
        } catch (IOException | RuntimeException other) {
            return Outcome.UNKNOWN;
        }
    }

    private static void downIfMajority(ActorContext<Command> ctx, Cluster cluster, UniqueAddress gone, String where) {
        var state = cluster.state();
        Member member = null;
        for (Member m : state.getMembers()) {
            if (m.uniqueAddress().equals(gone)) {
                member = m;
            }
        }
        if (member == null || member.status() == MemberStatus.down() || member.status() == MemberStatus.removed()) {
            return; // another incarnation took the address, or it is downed already
        }
        if (!state.getUnreachable().contains(member)) {
            return; // reachable again: leave it to the failure detector
        }
        int deciding = 0;
        int reachable = 0;
        boolean selfReachable = false;
        for (Member m : state.getMembers()) {
            if (m.status() != MemberStatus.up() && m.status() != MemberStatus.leaving()) {
                continue;
            }
            deciding++;
            if (!state.getUnreachable().contains(m)) {
                reachable++;
                selfReachable |= m.uniqueAddress().equals(cluster.selfMember().uniqueAddress());
            }
        }
        if (!selfReachable || reachable * 2 <= deciding) {
            ctx.getLog().info("Member {} is unreachable and {} ({}), but this node sees only {} of {} members reachable:"
                    + " leaving it to the split brain resolver", member.address(), DOWNED_LOG, where, reachable, deciding);
            return;
        }
        ctx.getLog().warn("Downing member {}: it is unreachable and {} ({}), so its process is gone; {} of {} members"
                + " reachable here", member.address(), DOWNED_LOG, where, reachable, deciding);
        cluster.manager().tell(new Down(member.address()));
    }
}
