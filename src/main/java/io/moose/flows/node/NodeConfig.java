package io.moose.flows.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;

import java.util.Locale;

/**
 * Loads a node's configuration: system properties, then the given overrides, then the operator's
 * file (-Dconfig.file, else application.conf), then moose-akka.conf, then every reference.conf.
 */
public final class NodeConfig {

    private NodeConfig() {
    }

    public static Config load() {
        return load(ConfigFactory.empty());
    }

    public static Config load(Config overrides) {
        ConfigFactory.invalidateCaches();
        Config unresolved = ConfigFactory.defaultOverrides()
                .withFallback(overrides)
                .withFallback(ConfigFactory.defaultApplication())
                .withFallback(ConfigFactory.parseResources(NodeConfig.class.getClassLoader(), "moose-akka.conf"))
                .withFallback(ConfigFactory.defaultReference());
        Config resolved = unresolved.resolve();
        return withJournalDriver(resolved);
    }

    /** Maps moose-flows.journal.kind onto the Slick profile and JDBC driver akka-persistence-jdbc needs. */
    private static Config withJournalDriver(Config config) {
        String kind = config.getString("moose-flows.journal.kind").toLowerCase(Locale.ROOT);
        String profile;
        String driver;
        switch (kind) {
            case "h2" -> {
                profile = "slick.jdbc.H2Profile$";
                driver = "org.h2.Driver";
            }
            case "postgres" -> {
                profile = "slick.jdbc.PostgresProfile$";
                driver = "org.postgresql.Driver";
            }
            default -> throw new IllegalArgumentException(
                    "moose-flows.journal.kind: unknown journal '" + kind + "'; expected h2 or postgres");
        }
        String base = "akka-persistence-jdbc.shared-databases.moose.";
        return config
                .withValue(base + "profile", ConfigValueFactory.fromAnyRef(profile))
                .withValue(base + "db.driver", ConfigValueFactory.fromAnyRef(driver));
    }
}
