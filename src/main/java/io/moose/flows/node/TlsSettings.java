package io.moose.flows.node;

import akka.http.javadsl.ConnectionContext;
import akka.http.javadsl.HttpsConnectionContext;
import com.typesafe.config.Config;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.UnrecoverableKeyException;
import java.util.Collections;
import java.util.Optional;

/**
 * moose-flows.tls.*: whether the ingest and admin ports speak HTTPS, with which key, and which
 * certificates the node trusts when it calls another node's admin port (Cluster Bootstrap probes).
 * The stores are opened when the settings are read, so a bad path or password stops the start with
 * a message naming the key; passwords never appear in a message.
 */
public final class TlsSettings {

    private static final String PREFIX = "moose-flows.tls.";

    private final boolean ingest;
    private final boolean admin;
    private final Optional<SSLContext> server;
    private final Optional<SSLContext> client;

    private TlsSettings(boolean ingest, boolean admin, Optional<SSLContext> server, Optional<SSLContext> client) {
        this.ingest = ingest;
        this.admin = admin;
        this.server = server;
        this.client = client;
    }

    /** @throws IllegalArgumentException naming the key when a store cannot be opened */
    public static TlsSettings from(Config config) {
        Config c = config.getConfig("moose-flows.tls");
        boolean ingest = c.getBoolean("ingest");
        boolean admin = c.getBoolean("admin");
        Optional<SSLContext> server = Optional.empty();
        if (ingest || admin) {
            String keystore = c.getString("keystore").trim();
            if (keystore.isEmpty()) {
                throw new IllegalArgumentException(PREFIX + "keystore: required when " + PREFIX + "ingest or " + PREFIX
                        + "admin is on (or MOOSE_TLS_KEYSTORE): the PKCS12 file holding the node's key and certificate");
            }
            char[] password = c.getString("keystore-password").toCharArray();
            KeyStore store = open(Path.of(keystore), password, c.getString("keystore-type"), "keystore");
            server = Optional.of(serverContext(store, password, keystore));
        }
        Optional<SSLContext> client = Optional.empty();
        String truststore = c.getString("truststore").trim();
        // Only the bootstrap probes of other nodes' HTTPS admin ports use it.
        if (admin && !truststore.isEmpty()) {
            client = Optional.of(clientContext(Path.of(truststore), c.getString("truststore-password").toCharArray(),
                    c.getString("truststore-type"), PREFIX + "truststore", PREFIX + "truststore-password"));
        }
        return new TlsSettings(ingest, admin, server, client);
    }

    /** HTTPS for the ingest port, or empty for plain HTTP. */
    public Optional<HttpsConnectionContext> ingest() {
        return ingest ? server.map(ConnectionContext::httpsServer) : Optional.empty();
    }

    /** HTTPS for the admin port (Akka Management), or empty for plain HTTP. */
    public Optional<HttpsConnectionContext> admin() {
        return admin ? server.map(ConnectionContext::httpsServer) : Optional.empty();
    }

    /** What the node's own HTTPS requests trust (other nodes' admin ports), or empty for the JVM's default. */
    public Optional<HttpsConnectionContext> client() {
        return client.map(ConnectionContext::httpsClient);
    }

    /**
     * A client context trusting the certificates of {@code path}.
     *
     * @param pathKey     the setting or option that named the file, for messages
     * @param passwordKey the setting or variable that gave the password, for messages
     * @throws IllegalArgumentException naming {@code pathKey} or {@code passwordKey}
     */
    public static SSLContext clientContext(Path path, char[] password, String type, String pathKey, String passwordKey) {
        KeyStore store = open(path, password, type, pathKey, passwordKey);
        try {
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(store);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(pathKey + ": cannot trust the certificates of " + path + " (" + e.getMessage() + ")", e);
        }
    }

    private static SSLContext serverContext(KeyStore store, char[] password, String path) {
        try {
            boolean hasKey = false;
            for (String alias : Collections.list(store.aliases())) {
                hasKey |= store.isKeyEntry(alias);
            }
            if (!hasKey) {
                throw new IllegalArgumentException(PREFIX + "keystore: " + path
                        + " holds no private key (a truststore?); it needs the node's key and certificate chain");
            }
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(store, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), null, null);
            return context;
        } catch (UnrecoverableKeyException e) {
            throw new IllegalArgumentException(PREFIX + "keystore-password: does not open the private key in " + path
                    + " (the key needs the keystore's password)", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(PREFIX + "keystore: cannot use " + path + " (" + e.getMessage() + ")", e);
        }
    }

    private static KeyStore open(Path path, char[] password, String type, String which) {
        return open(path, password, type, PREFIX + which, PREFIX + which + "-password");
    }

    private static KeyStore open(Path path, char[] password, String type, String pathKey, String passwordKey) {
        if (!Files.isReadable(path)) {
            throw new IllegalArgumentException(pathKey + ": cannot read " + path
                    + (Files.exists(path) ? " (not readable by this process)" : " (no such file)"));
        }
        KeyStore store;
        try {
            store = KeyStore.getInstance(type);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(pathKey + "-type: unknown store type '" + type
                    + "'; expected PKCS12 or JKS", e);
        }
        try (InputStream in = Files.newInputStream(path)) {
            store.load(in, password);
            return store;
        } catch (IOException e) {
            if (e.getCause() instanceof UnrecoverableKeyException) {
                throw new IllegalArgumentException(passwordKey + ": wrong password for " + path, e);
            }
            throw new IllegalArgumentException(pathKey + ": " + path + " is not a readable " + type + " store ("
                    + e.getMessage() + ")", e);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException(pathKey + ": cannot open " + path + " (" + e.getMessage() + ")", e);
        }
    }

    /** Which ports speak HTTPS; never a password. */
    @Override
    public String toString() {
        return "TlsSettings[ingest=" + ingest + ", admin=" + admin + ", truststore=" + (client.isPresent() ? "(set)" : "(JVM default)") + "]";
    }
}
