package io.moose.flows.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * moose-flows nodes as real separate JVM processes, through {@code ops/cluster}, so a test can
 * SIGKILL, SIGSTOP or gracefully stop one. Each instance has its own state dir, ports, Kafka
 * namespace and ClickHouse database.
 */
public final class ClusterProcesses implements AutoCloseable {

    public static final String ADMIN_TOKEN = "test-token";
    private static final long SCRIPT_TIMEOUT_SECONDS = 300;

    public final String namespace;
    private final Path state;
    private final Path projectFile;
    private final int ingestBase;
    private final int adminBase;
    private final int remoteBase;
    private final String extraOptions;
    private Integer readyTimeoutSeconds;
    private Path jar;

    /**
     * Added to every cluster's port offset ({@code -Dmoose.test.port-offset=N}), so two checkouts can
     * run their cluster tests on one machine at the same time.
     */
    private static final int CHECKOUT_PORT_OFFSET = Integer.getInteger("moose.test.port-offset", 0);

    private ClusterProcesses(String namespace, Path state, Path projectFile, int portOffset, String extraOptions) {
        this.namespace = namespace;
        this.state = state;
        this.projectFile = projectFile;
        this.ingestBase = 21180 + CHECKOUT_PORT_OFFSET + portOffset;
        this.adminBase = 21658 + CHECKOUT_PORT_OFFSET + portOffset;
        this.remoteBase = 28620 + CHECKOUT_PORT_OFFSET + portOffset;
        this.extraOptions = extraOptions;
    }

    /**
     * Prepares a cluster running {@code definitionText}; {@code portOffset} keeps concurrently
     * running clusters apart. Nothing starts until {@link #up(int)}.
     */
    public static ClusterProcesses create(String definitionText, int portOffset, String extraOptions) throws IOException {
        Infra.get();
        String namespace = Infra.uniqueName("c");
        Path state = Files.createTempDirectory("moose-cluster-");
        Path projectFile = state.resolve("project.conf");
        Files.writeString(projectFile, definitionText);
        return new ClusterProcesses(namespace, state, projectFile, portOffset, extraOptions);
    }

    /** How long ops/cluster waits for a starting node to be ready (its MOOSE_CLUSTER_READY_TIMEOUT). */
    public ClusterProcesses readyTimeout(java.time.Duration timeout) {
        this.readyTimeoutSeconds = (int) timeout.toSeconds();
        return this;
    }

    /**
     * Runs the nodes from a jar that adds the test classes to moose-flows.jar (its manifest's
     * Class-Path names both), so a definition may name a test transform.
     */
    public ClusterProcesses withTestClasses() throws IOException {
        Path target = Infra.repoRoot().resolve("target");
        java.util.jar.Manifest manifest = new java.util.jar.Manifest();
        manifest.getMainAttributes().put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        manifest.getMainAttributes().put(java.util.jar.Attributes.Name.MAIN_CLASS, "io.moose.flows.Main");
        manifest.getMainAttributes().put(java.util.jar.Attributes.Name.CLASS_PATH, "moose-flows.jar test-classes/");
        jar = target.resolve("moose-flows-with-tests.jar");
        try (java.util.jar.JarOutputStream out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar), manifest)) {
            out.flush();
        }
        return this;
    }

    public String up(int nodes) {
        return run("up", Integer.toString(nodes));
    }

    public String kill(int node) {
        return run("kill", Integer.toString(node));
    }

    public String stop(int node) {
        return run("stop", Integer.toString(node));
    }

    public String start(int node) {
        return run("start", Integer.toString(node));
    }

    public String pause(int node) {
        return run("pause", Integer.toString(node));
    }

    public String resume(int node) {
        return run("resume", Integer.toString(node));
    }

    public String status() {
        return run("status");
    }

    public String ingestUrl(int node) {
        return "http://127.0.0.1:" + (ingestBase + node - 1);
    }

    public String adminUrl(int node) {
        return "http://127.0.0.1:" + (adminBase + node - 1);
    }

    /**
     * Which node (1-based) an Akka address such as akka://moose-flows@127.0.0.1:28621 belongs to;
     * -1 when the address is empty (an entity that did not answer).
     */
    public int nodeOf(String akkaAddress) {
        int colon = akkaAddress.lastIndexOf(':');
        if (colon < 0 || colon == akkaAddress.length() - 1) {
            return -1;
        }
        return Integer.parseInt(akkaAddress.substring(colon + 1)) - remoteBase + 1;
    }

    /**
     * Waits until nodes 1..{@code nodes} all answer {@code GET /cluster/members} with the same members,
     * {@code nodes} of them, all Up and none unreachable, and returns them ("address uid"); fails with
     * every node's last answer when that does not happen within {@code timeout}.
     */
    public java.util.Set<String> awaitOneCluster(int nodes, java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<String> last = List.of();
        while (System.nanoTime() < deadline) {
            List<java.util.Set<String>> views = new ArrayList<>();
            List<String> described = new ArrayList<>();
            for (int node = 1; node <= nodes; node++) {
                com.fasterxml.jackson.databind.JsonNode answer = members(node);
                java.util.Set<String> up = new java.util.TreeSet<>();
                boolean clean = answer != null && answer.path("unreachable").isEmpty();
                if (answer != null) {
                    for (com.fasterxml.jackson.databind.JsonNode member : answer.path("members")) {
                        clean &= member.path("status").asText().equals("Up");
                        up.add(member.path("node").asText() + " " + member.path("nodeUid").asText());
                    }
                }
                described.add("node " + node + ": " + (answer == null ? "no answer" : answer.toString()));
                views.add(clean ? up : null);
            }
            last = described;
            if (views.stream().allMatch(v -> v != null && v.size() == nodes && v.equals(views.get(0)))) {
                return views.get(0);
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the nodes did not agree on " + nodes + " Up members within " + timeout + ":\n"
                + String.join("\n", last));
    }

    /** Node {@code node}'s answer to GET /cluster/members, or null when it does not answer 200. */
    private com.fasterxml.jackson.databind.JsonNode members(int node) {
        try {
            java.net.http.HttpResponse<String> response = MEMBERS_CLIENT.send(java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(adminUrl(node) + "/cluster/members")).timeout(java.time.Duration.ofSeconds(10)).GET().build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? new com.fasterxml.jackson.databind.ObjectMapper().readTree(response.body()) : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static final java.net.http.HttpClient MEMBERS_CLIENT = java.net.http.HttpClient.newBuilder()
            .connectTimeout(java.time.Duration.ofSeconds(3)).build();

    public Path logOf(int node) {
        return state.resolve("node-" + node).resolve("node.log");
    }

    private String run(String... args) {
        Path root = Infra.repoRoot();
        List<String> argv = new ArrayList<>(List.of("bash", root.resolve("ops/cluster").toString()));
        argv.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(argv).directory(root.toFile()).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.putAll(environment());
        try {
            Process process = builder.start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(SCRIPT_TIMEOUT_SECONDS, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException("ops/cluster " + String.join(" ", args) + " failed:\n" + output);
            }
            return output;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run ops/cluster", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private Map<String, String> environment() {
        Map<String, String> env = new HashMap<>();
        env.put("MOOSE_CLUSTER_HOME", state.toString());
        env.put("MOOSE_CLUSTER_INGEST_BASE", Integer.toString(ingestBase));
        env.put("MOOSE_CLUSTER_ADMIN_BASE", Integer.toString(adminBase));
        env.put("MOOSE_CLUSTER_REMOTE_BASE", Integer.toString(remoteBase));
        if (jar != null) {
            env.put("MOOSE_JAR", jar.toString());
        }
        if (readyTimeoutSeconds != null) {
            env.put("MOOSE_CLUSTER_READY_TIMEOUT", Integer.toString(readyTimeoutSeconds));
        }
        env.put("MOOSE_NODE_OPTS", String.join(" ",
                "-Dmoose-flows.namespace=" + namespace,
                "-Dmoose-flows.clickhouse.database=" + namespace,
                "-Dmoose-flows.project-file=" + projectFile,
                "-Dmoose-flows.admin.token=" + ADMIN_TOKEN,
                extraOptions));
        return env;
    }

    @Override
    public void close() {
        run("down");
    }
}
