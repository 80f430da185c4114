package io.moose.flows.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.moose.flows.testing.SelfSignedCertificate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every store problem stops the start with a message naming the key, and no message carries a password. */
class TlsSettingsTest {

    private static final String PASSWORD = "store-pass-8d41c0";
    private static final String WRONG_PASSWORD = "wrong-pass-77e2a9";

    @TempDir
    static Path dir;
    private static SelfSignedCertificate certificate;

    @BeforeAll
    static void makeCertificate() throws Exception {
        certificate = SelfSignedCertificate.create(dir, PASSWORD);
    }

    @Test
    void offByDefaultServesPlainHttpAndOpensNoStore() {
        TlsSettings tls = TlsSettings.from(NodeConfig.load());
        assertTrue(tls.ingest().isEmpty());
        assertTrue(tls.admin().isEmpty());
        assertTrue(tls.client().isEmpty());
    }

    @Test
    void aGoodKeystoreServesEachPortThatIsOn() {
        TlsSettings tls = TlsSettings.from(tls("ingest = on", "admin = on", "keystore = \"" + certificate.keystore() + "\"",
                "keystore-password = \"" + PASSWORD + "\"", "truststore = \"" + certificate.truststore() + "\"",
                "truststore-password = \"" + PASSWORD + "\""));
        assertTrue(tls.ingest().isPresent());
        assertTrue(tls.admin().isPresent());
        assertTrue(tls.client().isPresent());
        TlsSettings ingestOnly = TlsSettings.from(tls("ingest = on", "keystore = \"" + certificate.keystore() + "\"",
                "keystore-password = \"" + PASSWORD + "\"", "truststore = \"" + dir.resolve("unread.p12") + "\""));
        assertTrue(ingestOnly.admin().isEmpty());
        assertTrue(ingestOnly.client().isEmpty(), "the truststore serves the bootstrap probes of HTTPS admin ports only");
        assertFalse(tls.toString().contains(PASSWORD));
    }

    @Test
    void aPortOnWithoutAKeystoreNamesTheKeystoreKey() {
        refused(tls("admin = on"), "moose-flows.tls.keystore: required when");
    }

    @Test
    void aKeystoreThatDoesNotExistNamesTheKeyAndThePath() {
        refused(tls("admin = on", "keystore = \"" + dir.resolve("missing.p12") + "\"", "keystore-password = \"" + PASSWORD + "\""),
                "moose-flows.tls.keystore: cannot read " + dir.resolve("missing.p12") + " (no such file)");
    }

    @Test
    void aWrongKeystorePasswordNamesThePasswordKeyNotThePassword() {
        refused(tls("ingest = on", "keystore = \"" + certificate.keystore() + "\"", "keystore-password = \"" + WRONG_PASSWORD + "\""),
                "moose-flows.tls.keystore-password: wrong password for " + certificate.keystore());
    }

    @Test
    void aKeystoreWithoutAPrivateKeyIsRefused() {
        refused(tls("ingest = on", "keystore = \"" + certificate.truststore() + "\"", "keystore-password = \"" + PASSWORD + "\""),
                "moose-flows.tls.keystore: " + certificate.truststore() + " holds no private key");
    }

    @Test
    void aFileThatIsNoStoreNamesTheKey() {
        refused(tls("ingest = on", "keystore = \"" + dir.resolve("node.crt") + "\"", "keystore-password = \"" + PASSWORD + "\""),
                "moose-flows.tls.keystore: " + dir.resolve("node.crt") + " is not a readable PKCS12 store");
    }

    @Test
    void aWrongTruststorePasswordNamesItsKey() {
        refused(tls("admin = on", "keystore = \"" + certificate.keystore() + "\"", "keystore-password = \"" + PASSWORD + "\"",
                        "truststore = \"" + certificate.truststore() + "\"", "truststore-password = \"" + WRONG_PASSWORD + "\""),
                "moose-flows.tls.truststore-password: wrong password for " + certificate.truststore());
    }

    private static Config tls(String... settings) {
        return NodeConfig.load(ConfigFactory.parseString("moose-flows.tls { " + String.join("\n", settings) + " }"));
    }

    private static void refused(Config config, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TlsSettings.from(config));
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        for (Throwable t = e; t != null; t = t.getCause()) {
            assertFalse(String.valueOf(t.getMessage()).contains(PASSWORD), t.toString());
            assertFalse(String.valueOf(t.getMessage()).contains(WRONG_PASSWORD), t.toString());
        }
    }
}
