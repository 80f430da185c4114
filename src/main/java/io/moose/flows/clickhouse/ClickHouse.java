package io.moose.flows.clickhouse;

import com.clickhouse.client.ClickHouseClient;
import com.clickhouse.client.ClickHouseCredentials;
import com.clickhouse.client.ClickHouseException;
import com.clickhouse.client.ClickHouseNode;
import com.clickhouse.client.ClickHouseProtocol;
import com.clickhouse.client.ClickHouseResponse;
import com.clickhouse.client.config.ClickHouseClientOption;
import com.clickhouse.data.ClickHouseFormat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.regex.Pattern;

/**
 * Thin adapter over the official ClickHouse Java client (HTTP). It sticks to what ClickHouse 18.16
 * and current releases both understand: an explicit FORMAT in every query (18.16 ignores the
 * X-ClickHouse-Format header), TabSeparated results parsed here, TabSeparated (or JSONEachRow) inserts, and no
 * client-side compression (the client's compressed responses are not readable from 18.16).
 * 18.16 also ignores the X-ClickHouse-Database header, so every statement must name tables
 * through {@link #qualified(String)}.
 */
public final class ClickHouse implements AutoCloseable {

    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private final ClickHouseSettings settings;
    private final ClickHouseClient client;
    private final ClickHouseNode server;
    private final ClickHouseNode serverWithoutDatabase;
    /** Whether the server takes {@code DROP TABLE ... SYNC}; asked once, on the first drop that must wait. */
    private volatile CompletionStage<Boolean> dropSync;

    private ClickHouse(ClickHouseSettings settings) {
        this.settings = settings;
        this.client = ClickHouseClient.builder()
                .nodeSelector(com.clickhouse.client.ClickHouseNodeSelector.of(ClickHouseProtocol.HTTP))
                // The JDK connection needs no extra dependency; naming it avoids a fallback warning per request.
                .option(com.clickhouse.client.http.config.ClickHouseHttpOption.CONNECTION_PROVIDER,
                        com.clickhouse.client.http.config.HttpConnectionProvider.HTTP_URL_CONNECTION)
                // The client's default pool is JVM-wide and as small as the core count; every sink and
                // load of a node shares this client, and one slow request must not hold up the others.
                .option(ClickHouseClientOption.MAX_THREADS_PER_CLIENT, settings.maxConcurrentRequests())
                .option(ClickHouseClientOption.COMPRESS, false)
                .option(ClickHouseClientOption.DECOMPRESS, false)
                .option(ClickHouseClientOption.SOCKET_TIMEOUT, (int) settings.requestTimeout().toMillis())
                .option(ClickHouseClientOption.CONNECTION_TIMEOUT, (int) settings.connectTimeout().toMillis())
                .build();
        this.serverWithoutDatabase = node(settings, "default");
        this.server = node(settings, settings.database());
    }

    private static ClickHouseNode node(ClickHouseSettings settings, String database) {
        return ClickHouseNode.builder(ClickHouseNode.of(settings.url()))
                .database(database)
                .credentials(ClickHouseCredentials.fromUserAndPassword(settings.user(), settings.password()))
                .build();
    }

    public static ClickHouse connect(ClickHouseSettings settings) {
        if (!IDENTIFIER.matcher(settings.database()).matches()) {
            throw new IllegalArgumentException("moose-flows.clickhouse.database: '" + settings.database()
                    + "' is not a plain identifier");
        }
        return new ClickHouse(settings);
    }

    public String database() {
        return settings.database();
    }

    /** {@code `db`.`table`} */
    public String qualified(String table) {
        return quote(settings.database()) + "." + quote(table);
    }

    public static String quote(String identifier) {
        if (!IDENTIFIER.matcher(identifier).matches()) {
            throw new IllegalArgumentException("not a plain identifier: " + identifier);
        }
        return "`" + identifier + "`";
    }

    public static String literal(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** Creates the configured database if missing. Runs against the default database. */
    public CompletionStage<Void> createDatabaseIfMissing() {
        return run(serverWithoutDatabase, "CREATE DATABASE IF NOT EXISTS " + quote(settings.database()))
                .thenApply(body -> null);
    }

    /** Runs a statement that returns nothing (DDL). */
    public CompletionStage<Void> execute(String sql) {
        return run(server, sql).thenApply(body -> null);
    }

    /**
     * Drops a table if it exists and completes only when every query still using it has finished:
     * on 18.16 a plain DROP waits for them (it takes the table's exclusive lock); releases from 20.x
     * on may drop a table of an Atomic database while queries still use it unless asked for
     * {@code SYNC}, which 18.16 does not parse, so the server's version decides.
     */
    public CompletionStage<Void> dropTableWaiting(String table) {
        CompletionStage<Boolean> sync = dropSync;
        if (sync == null || sync.toCompletableFuture().isCompletedExceptionally()) {
            sync = query("SELECT version()").thenApply(rows -> majorVersion(rows.get(0).get(0)) >= 20);
            dropSync = sync;
        }
        return sync.thenCompose(s -> execute("DROP TABLE IF EXISTS " + qualified(table) + (s ? " SYNC" : "")));
    }

    static int majorVersion(String version) {
        int dot = version.indexOf('.');
        return Integer.parseInt(dot < 0 ? version.trim() : version.substring(0, dot).trim());
    }

    /** Runs a query (without a FORMAT clause) and returns its rows, each a list of column texts. */
    public CompletionStage<List<List<String>>> query(String sql) {
        return run(server, sql + " FORMAT TabSeparated").thenApply(ClickHouse::parseTabSeparated);
    }

    /**
     * A query's rows as TabSeparated bytes, read as ClickHouse sends them: for results too big to hold
     * at once. Blocks until the first bytes arrive, so call it off the actor threads. {@code settings}
     * go with the query as ClickHouse settings (URL parameters, which 18.16 takes too);
     * {@code readTimeout} bounds every wait for more bytes, the first included.
     */
    public TabSeparatedStream streamTabSeparated(String sql, Map<String, String> settings, Duration readTimeout) throws IOException {
        var request = client.read(server)
                .format(ClickHouseFormat.TabSeparated)
                .option(ClickHouseClientOption.SOCKET_TIMEOUT, (int) Math.min(Integer.MAX_VALUE, readTimeout.toMillis()))
                .query(sql + " FORMAT TabSeparated");
        settings.forEach(request::set);
        try {
            return new TabSeparatedStream(request.executeAndWait());
        } catch (ClickHouseException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /**
     * The rows of a streamed TabSeparated result, as {@link TabSeparatedReader} splits them. A
     * response ClickHouse breaks off after its headers went out ends like a complete one, or carries
     * its error as text in the body: callers must not take the end of the rows for the end of the
     * data without checking.
     */
    public static final class TabSeparatedStream implements AutoCloseable {
        private final ClickHouseResponse response;
        private final TabSeparatedReader rows;

        private TabSeparatedStream(ClickHouseResponse response) {
            this.response = response;
            this.rows = new TabSeparatedReader(response.getInputStream());
        }

        public TabSeparatedReader rows() {
            return rows;
        }

        /** Abandons what is left unread. */
        @Override
        public void close() {
            response.close();
        }
    }

    /** Inserts newline-separated JSON objects in one INSERT (atomic for a batch under max_insert_block_size). */
    public CompletionStage<Void> insertJsonEachRow(String table, byte[] rows) {
        return insert("INSERT INTO " + qualified(table) + " FORMAT JSONEachRow", ClickHouseFormat.JSONEachRow, rows);
    }

    /**
     * Inserts TabSeparated rows, their fields in {@code columns} order, in one INSERT (atomic for a
     * batch under max_insert_block_size). The explicit column list keeps rows and table in step.
     */
    public CompletionStage<Void> insertTabSeparated(String table, List<String> columns, byte[] rows) {
        String columnList = String.join(", ", columns.stream().map(ClickHouse::quote).toList());
        return insert("INSERT INTO " + qualified(table) + " (" + columnList + ") FORMAT TabSeparated", ClickHouseFormat.TabSeparated, rows);
    }

    /** One INSERT statement with its rows as the request body, in the format the statement names. */
    private CompletionStage<Void> insert(String statement, ClickHouseFormat format, byte[] rows) {
        return client.write(server)
                .query(statement)
                .format(format)
                .data(new ByteArrayInputStream(rows))
                .execute()
                .thenApply(response -> {
                    response.close();
                    return (Void) null;
                });
    }

    private CompletableFuture<String> run(ClickHouseNode target, String sql) {
        return client.read(target)
                .format(ClickHouseFormat.TabSeparated)
                .query(sql)
                .execute()
                .thenApply(response -> {
                    try (ClickHouseResponse r = response; InputStream in = r.getInputStream()) {
                        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    } catch (IOException e) {
                        throw new CompletionException(e);
                    }
                });
    }

    static List<List<String>> parseTabSeparated(String body) {
        List<List<String>> rows = new ArrayList<>();
        if (body.isEmpty()) {
            return rows;
        }
        for (String line : body.split("\n", -1)) {
            if (line.isEmpty()) {
                continue;
            }
            List<String> row = new ArrayList<>();
            for (String field : line.split("\t", -1)) {
                row.add(unescape(field));
            }
            rows.add(row);
        }
        return rows;
    }

    private static String unescape(String field) {
        if (field.indexOf('\\') < 0) {
            return field;
        }
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c != '\\' || i + 1 == field.length()) {
                out.append(c);
                continue;
            }
            char next = field.charAt(++i);
            switch (next) {
                case 't' -> out.append('\t');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case '0' -> out.append('\0');
                default -> out.append(next);
            }
        }
        return out.toString();
    }

    @Override
    public void close() {
        client.close();
    }
}
