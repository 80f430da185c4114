package io.moose.flows.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP proxy in front of a real service, on a free local port. It counts the connections it
 * accepts (so a test learns whether the code under test really connected through it), and a test
 * can stall it: while stalled it accepts connections and forwards nothing (a hung database: clients
 * wait until their own timeouts), and cuts every connection it was forwarding; {@link #forward()}
 * lets new connections through again. The real service other tests share is never touched.
 */
public final class TcpProxy implements AutoCloseable {

    private final String targetHost;
    private final int targetPort;
    private final ServerSocket server;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private volatile boolean stalled;
    private final java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();

    private TcpProxy(String targetHost, int targetPort, boolean stalled) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.stalled = stalled;
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread acceptor = new Thread(this::accept, "tcp-proxy-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A proxy to {@code host:port} on a free local port that starts stalled. */
    public static TcpProxy stalled(String host, int port) throws IOException {
        return new TcpProxy(host, port, true);
    }

    /** A proxy to {@code host:port} on a free local port that forwards from the start. */
    public static TcpProxy forwarding(String host, int port) throws IOException {
        return new TcpProxy(host, port, false);
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Connections accepted so far: whether the code under test really connected through the proxy. */
    public int connections() {
        return connections.get();
    }

    /** From now on connections hang; the ones open now are cut. */
    public void stall() {
        stalled = true;
        cutAll();
    }

    /** From now on connections reach the service; the hanging ones are cut, so their clients retry at once. */
    public void forward() {
        stalled = false;
        cutAll();
    }

    private void cutAll() {
        for (Socket socket : open) {
            closeQuietly(socket);
        }
        open.clear();
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                connections.incrementAndGet();
                open.add(client);
                if (!stalled) {
                    Socket upstream = new Socket(targetHost, targetPort);
                    open.add(upstream);
                    pipe(client, upstream);
                    pipe(upstream, client);
                }
            } catch (IOException e) {
                // closed, or the service refused: the client sees its connection cut
            }
        }
    }

    private void pipe(Socket from, Socket to) {
        Thread thread = new Thread(() -> {
            byte[] buffer = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // one side closed
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                open.remove(from);
                open.remove(to);
            }
        }, "tcp-proxy-pipe");
        thread.setDaemon(true);
        thread.start();
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        cutAll();
    }
}
