package io.moose.flows.node;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What a probe of a member's cluster port tells: only a port nobody listens on is "gone"; a listener
 * that never accepts (a starved or SIGSTOPped JVM: its kernel still completes the handshake) is alive.
 */
class GoneMemberDowningTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    @Test
    void aPortNobodyListensOnIsGone() throws Exception {
        int port;
        try (ServerSocket closedAgain = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = closedAgain.getLocalPort();
        }
        assertEquals(GoneMemberDowning.Outcome.REFUSED, GoneMemberDowning.probe("127.0.0.1", port, TIMEOUT));
    }

    @Test
    void aListenerThatNeverAcceptsIsNotGone() throws Exception {
        try (ServerSocket neverAccepting = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            assertEquals(GoneMemberDowning.Outcome.LISTENING,
                    GoneMemberDowning.probe("127.0.0.1", neverAccepting.getLocalPort(), TIMEOUT));
        }
    }
}
