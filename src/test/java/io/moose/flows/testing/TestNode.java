package io.moose.flows.testing;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.AskPattern;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.moose.flows.node.EntityStatus;
import io.moose.flows.node.Node;
import io.moose.flows.node.NodeConfig;
import io.moose.flows.node.NodeExtension;
import io.moose.flows.node.NodeServices;
import io.moose.flows.admin.ProjectActor;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.ClickHouseSettings;
import io.moose.flows.flow.FlowActor;
import io.moose.flows.migration.MigrationActor;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.TopicNames;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

/**
 * A whole moose-flows node in the test JVM (guardian, sharding, singleton, ingest API, admin port),
 * against the real services, isolated by its own Kafka namespace, ClickHouse database and H2 journal.
 */
public final class TestNode implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(180); // provisioning on a busy host
    private static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);

    public final String namespace;
    public final Config config;
    public final ActorSystem<Node.Command> system;
    public final NodeServices services;
    public final TopicNames names;
    public final ClickHouse clickhouse;
    public final int adminPort;

    private TestNode(String namespace, Config config, ActorSystem<Node.Command> system, NodeServices services, int adminPort) {
        this.namespace = namespace;
        this.config = config;
        this.system = system;
        this.services = services;
        this.names = services.context().names();
        this.clickhouse = ClickHouse.connect(ClickHouseSettings.from(config));
        this.adminPort = adminPort;
    }

    /** Starts a node running {@code definitionText}, with extra HOCON settings on top. */
    public static TestNode start(String definitionText, String extraConfig) throws Exception {
        Infra infra = Infra.get();
        String namespace = Infra.uniqueName("n");
        Path journalDir = Files.createTempDirectory("moose-journal-");
        int adminPort = freePort();
        Config overrides = ConfigFactory.parseString(extraConfig).withFallback(ConfigFactory.parseString(String.join("\n",
                "moose-flows.namespace = \"" + namespace + "\"",
                "moose-flows.kafka.bootstrap-servers = \"" + infra.kafkaBootstrap() + "\"",
                "moose-flows.clickhouse.url = \"" + infra.clickhouseUrl() + "\"",
                "moose-flows.clickhouse.database = \"" + namespace + "\"",
                "moose-flows.journal.url = \"jdbc:h2:file:" + journalDir.resolve("journal") + ";DB_CLOSE_DELAY=-1\"",
                "moose-flows.ingest.port = 0",
                "moose-flows.admin.port = " + adminPort,
                "moose-flows.admin.token = \"test-token\"",
                "moose-flows.node.remote-port = 0",
                "moose-flows.node.seed-nodes = []",
                "akka.coordinated-shutdown.exit-jvm = off",
                "akka.cluster.jmx.multi-mbeans-in-same-jvm = on")));
        Config config = NodeConfig.load(overrides);
        adminPort = config.getInt("moose-flows.admin.port"); // extraConfig may choose it
        ProjectDefinition definition = ProjectDefinitionLoader.parse(definitionText, "test definition");
        ActorSystem<Node.Command> system = Node.start(config, definition, definitionText, "test definition");
        NodeServices services = NodeExtension.get(system).services().toCompletableFuture()
                .get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        return new TestNode(namespace, config, system, services, adminPort);
    }

    public static String projectFile() throws IOException {
        return Files.readString(Infra.repoRoot().resolve("conf/project.conf"));
    }

    public String ingestUrl() {
        return "http://127.0.0.1:" + services.ingest().port();
    }

    public String adminUrl() {
        return "http://127.0.0.1:" + adminPort;
    }

    /**
     * Waits until {@code adminBase}/health/ready answers 200: the admin port binds after the node's
     * services are up, and the node is ready once it is an Up member.
     */
    public static void awaitReady(java.net.http.HttpClient http, String adminBase) throws InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                java.net.http.HttpResponse<String> ready = http.send(java.net.http.HttpRequest.newBuilder(
                                java.net.URI.create(adminBase + "/health/ready")).timeout(Duration.ofSeconds(10)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
                if (ready.statusCode() == 200) {
                    return;
                }
                last = ready.statusCode() + " " + ready.body();
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(300);
        }
        throw new IllegalStateException(adminBase + "/health/ready did not say 200 within " + START_TIMEOUT + ": " + last);
    }

    public ProjectDefinition definition() {
        return services.context().currentDefinition();
    }

    /** Applies a definition through the project singleton, as POST /project/apply does. */
    public ProjectActor.ApplyResult apply(String definitionText) throws Exception {
        ActorRef<ProjectActor.Command> project = ClusterSingleton.get(system)
                .init(SingletonActor.of(ProjectActor.create(names, services::provisionAsync), "project"));
        CompletionStage<ProjectActor.ApplyResult> reply = AskPattern.ask(project,
                replyTo -> new ProjectActor.Apply(definitionText, false, replyTo), ASK_TIMEOUT, system.scheduler());
        return reply.toCompletableFuture().get(ASK_TIMEOUT.toSeconds() * 3, TimeUnit.SECONDS);
    }

    public MigrationActor.Progress migration(String flowId) throws Exception {
        return ClusterSharding.get(system).entityRefFor(MigrationActor.ENTITY_KEY, flowId)
                .<MigrationActor.Progress>ask(MigrationActor.GetProgress::new, ASK_TIMEOUT)
                .toCompletableFuture().get(ASK_TIMEOUT.toSeconds() * 2, TimeUnit.SECONDS);
    }

    public EntityStatus flow(String flowId) throws Exception {
        return ClusterSharding.get(system).entityRefFor(FlowActor.ENTITY_KEY, flowId)
                .<EntityStatus>ask(FlowActor.GetStatus::new, ASK_TIMEOUT)
                .toCompletableFuture().get(ASK_TIMEOUT.toSeconds() * 2, TimeUnit.SECONDS);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /**
     * Drops the node's ClickHouse database, then stops the node. 18.16 refuses a DROP DATABASE while a
     * sink creates its ingress ("New table appeared in database being dropped"): tried again then.
     */
    public void dropDatabaseAndClose() throws Exception {
        try {
            for (int attempt = 1; ; attempt++) {
                try {
                    clickhouse.query("DROP DATABASE IF EXISTS " + namespace).toCompletableFuture().get(60, TimeUnit.SECONDS);
                    break;
                } catch (java.util.concurrent.ExecutionException e) {
                    if (attempt == 3) {
                        throw e;
                    }
                    Thread.sleep(500);
                }
            }
        } finally {
            close();
        }
    }

    @Override
    public void close() throws Exception {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(START_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        clickhouse.close();
    }
}
