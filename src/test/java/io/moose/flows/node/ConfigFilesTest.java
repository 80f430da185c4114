package io.moose.flows.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigUtil;
import io.moose.flows.kafka.KafkaSettings;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The operator's files in conf/. HOCON accepts any key, so a misspelt one is silently ignored and
 * the node runs on the default; these tests catch that before a node does.
 */
class ConfigFilesTest {

    private static final Path CONF = Path.of("conf");
    /** Lives in conf/ too, but is a project definition, not node configuration. */
    private static final Path PROJECT_FILE = CONF.resolve("project.conf");

    /** The secrets conf/production.conf requires from the environment. */
    private static final Map<String, String> PRODUCTION_SECRETS = Map.of(
            "MOOSE_HOSTNAME", "moose-1.internal",
            "MOOSE_ADMIN_TOKEN", "admin-token",
            "MOOSE_INGEST_API_KEY", "ingest-key",
            "MOOSE_JOURNAL_PASSWORD", "journal-password",
            "CLICKHOUSE_PASSWORD", "clickhouse-password",
            "MOOSE_TLS_KEYSTORE_PASSWORD", "keystore-password",
            "MOOSE_TLS_TRUSTSTORE_PASSWORD", "truststore-password");

    static Stream<Path> confFiles() throws IOException {
        try (Stream<Path> files = Files.list(CONF)) {
            List<Path> all = files.filter(f -> f.toString().endsWith(".conf")).sorted().toList();
            assertTrue(all.contains(CONF.resolve("production.conf")), "conf/production.conf is missing");
            return all.stream();
        }
    }

    static Stream<Path> nodeConfigFiles() throws IOException {
        return confFiles().filter(f -> !f.equals(PROJECT_FILE));
    }

    @ParameterizedTest
    @MethodSource("confFiles")
    void everyConfFileParses(Path file) {
        ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    }

    @ParameterizedTest
    @MethodSource("nodeConfigFiles")
    void everyKeyANodeConfigSetsExistsInTheReference(Path file) {
        Config mooseReference = ConfigFactory.parseResources(NodeConfig.class.getClassLoader(), "reference.conf").resolve();
        Config akkaReference = ConfigFactory.parseResources(NodeConfig.class.getClassLoader(), "moose-akka.conf")
                .withFallback(ConfigFactory.defaultReference())
                .resolve();
        List<String> unknown = ConfigFactory.parseFile(file.toFile()).entrySet().stream()
                .map(Map.Entry::getKey)
                .filter(key -> !isDefined(key.startsWith("moose-flows.") ? mooseReference : akkaReference, key))
                .sorted()
                .toList();
        assertTrue(unknown.isEmpty(), () -> file + " sets keys that no reference configuration defines "
                + "(misspelt, or missing from src/main/resources/reference.conf): " + unknown);
    }

    /**
     * A key is defined when the reference has it, or when its nearest ancestor in the reference is an
     * empty object: a map left open for the operator's own entries, like kafka client-properties.
     */
    private static boolean isDefined(Config reference, String key) {
        if (reference.hasPathOrNull(key)) {
            return true;
        }
        List<String> parts = ConfigUtil.splitPath(key);
        for (int n = parts.size() - 1; n > 0; n--) {
            String ancestor = ConfigUtil.joinPath(parts.subList(0, n));
            if (reference.hasPathOrNull(ancestor)) {
                return reference.hasPath(ancestor)
                        && reference.getValue(ancestor) instanceof ConfigObject map && map.isEmpty();
            }
        }
        return false;
    }

    @Test
    void productionConfigLoadsAsAPostgresClusterWithReplicatedTopicsAndKeepMajority() {
        Config config = loadNode("production.conf", PRODUCTION_SECRETS);

        assertEquals("slick.jdbc.PostgresProfile$", config.getString("akka-persistence-jdbc.shared-databases.moose.profile"));
        assertEquals("journal-password", config.getString("akka-persistence-jdbc.shared-databases.moose.db.password"));
        KafkaSettings kafka = KafkaSettings.from(config);
        assertEquals(3, kafka.replicationFactor());
        assertEquals(2, kafka.minInsyncReplicas());
        assertEquals("keep-majority", config.getString("akka.cluster.split-brain-resolver.active-strategy"));
        assertEquals(List.of("ingest-key"), config.getStringList("moose-flows.ingest.api-keys"));
        assertEquals("admin-token", config.getString("moose-flows.admin.token"));
        assertEquals("moose-1.internal", config.getString("akka.remote.artery.canonical.hostname"));
        assertEquals("moose-1.internal", config.getString("akka.management.http.hostname"));
        assertTrue(config.getBoolean("moose-flows.node.bootstrap"));
        assertEquals(3, config.getConfigList("akka.discovery.config.services.moose-flows.endpoints").size());
        assertEquals(List.of(), config.getStringList("akka.cluster.seed-nodes"));
    }

    @Test
    void productionConfigRefusesToLoadWithoutASecretAndNamesIt() {
        assumeTrue(System.getenv("MOOSE_ADMIN_TOKEN") == null, "MOOSE_ADMIN_TOKEN is set in this environment");
        Map<String, String> withoutToken = new HashMap<>(PRODUCTION_SECRETS);
        withoutToken.remove("MOOSE_ADMIN_TOKEN");

        ConfigException e = assertThrows(ConfigException.class, () -> loadNode("production.conf", withoutToken));
        assertTrue(e.getMessage().contains("MOOSE_ADMIN_TOKEN"), e.getMessage());
    }

    @Test
    void dockerNodeBootstrapsFromTheThreeComposeNodesOnTheirAdminPort() throws IOException {
        // What compose's MOOSE_HOSTNAME and MOOSE_JOURNAL_KIND set; reference.conf reads those
        // variables from the real environment only.
        Config config = loadNode("docker.conf", Map.of(
                "moose-flows.node.hostname", "node2",
                "moose-flows.journal.kind", "postgres"));

        List<String> hosts = config.getConfigList("akka.discovery.config.services.moose-flows.endpoints").stream()
                .peek(endpoint -> assertEquals(config.getInt("moose-flows.admin.port"), endpoint.getInt("port")))
                .map(endpoint -> endpoint.getString("host"))
                .toList();
        assertEquals(List.of("node1", "node2", "node3"), hosts);
        assertEquals("node2", config.getString("akka.remote.artery.canonical.hostname"));
        assertTrue(config.getBoolean("moose-flows.node.bootstrap"));
        assertEquals(List.of(), config.getStringList("akka.cluster.seed-nodes"));
        assertEquals(1, KafkaSettings.from(config).replicationFactor());
        assertEquals("slick.jdbc.PostgresProfile$", config.getString("akka-persistence-jdbc.shared-databases.moose.profile"));

        String readiness = "/" + config.getString("akka.management.health-checks.readiness-path");
        assertEquals("/health/ready", readiness);
        assertTrue(Files.readString(Path.of("Dockerfile")).contains(readiness), "Dockerfile health check");
        assertTrue(Files.readString(Path.of("docker-compose.yml")).contains(readiness), "docker-compose.yml health check");
    }

    @Test
    void clusterNodeBootstrapsFromTheContactPointsAndPortsInSystemProperties() {
        Config config = loadNode("cluster-node.conf", Map.of(
                "moose-flows.node.contact-points.0.host", "127.0.0.1",
                "moose-flows.node.contact-points.0.port", "21658",
                "moose-flows.node.contact-points.1.host", "127.0.0.1",
                "moose-flows.node.contact-points.1.port", "21659",
                "moose-flows.node.required-contact-points", "2",
                "moose-flows.node.remote-port", "25521"));

        List<Integer> ports = config.getConfigList("akka.discovery.config.services.moose-flows.endpoints").stream()
                .peek(endpoint -> assertEquals("127.0.0.1", endpoint.getString("host")))
                .map(endpoint -> endpoint.getInt("port"))
                .toList();
        assertEquals(List.of(21658, 21659), ports);
        assertEquals(2, config.getInt("akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
        assertTrue(config.getBoolean("moose-flows.node.bootstrap"));
        assertEquals(List.of(), config.getStringList("akka.cluster.seed-nodes"));
        assertEquals(25521, config.getInt("akka.remote.artery.canonical.port"));
        assertEquals("slick.jdbc.PostgresProfile$", config.getString("akka-persistence-jdbc.shared-databases.moose.profile"));
    }

    @Test
    void clusterNodeWithoutPropertiesBootstrapsFromTheThreeDefaultAdminPortsAndHasNoSeedNodes() {
        Config config = loadNode("cluster-node.conf", Map.of());

        assertEquals(List.of(8558, 8559, 8560), config.getConfigList("akka.discovery.config.services.moose-flows.endpoints")
                .stream().map(endpoint -> endpoint.getInt("port")).toList());
        assertEquals(List.of(), config.getStringList("akka.cluster.seed-nodes"));
        // Three contact points on one host: filtering on the fallback port would leave one.
        assertFalse(config.getBoolean("akka.management.cluster.bootstrap.contact-point.filter-on-fallback-port"));
    }

    /**
     * Loads conf/{name} the way a node started with -Dconfig.file does; {@code properties} stand in
     * for system properties, and for the environment variables the file itself names (a substitution
     * looks in the configuration before the environment).
     */
    private static Config loadNode(String name, Map<String, String> properties) {
        Properties props = new Properties();
        props.putAll(properties);
        Config file = ConfigFactory.parseFile(CONF.resolve(name).toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
        return NodeConfig.load(ConfigFactory.parseProperties(props).withFallback(file));
    }
}
