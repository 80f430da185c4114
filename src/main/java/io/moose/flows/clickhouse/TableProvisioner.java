package io.moose.flows.clickhouse;

import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.TopicNames;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Creates the database and one MergeTree table per model version. A table that exists is compared
 * with the definition column by column; a difference is a problem to report, never something to
 * fix here: dropping or altering a table could lose rows, which is the operator's call.
 */
public final class TableProvisioner {

    /** What one run did; a non-empty {@code problems} means the node must not start. */
    public record Result(List<String> created, List<String> existing, List<String> problems) {
    }

    private final ClickHouse clickHouse;
    private final long timeoutMs;

    public TableProvisioner(ClickHouse clickHouse, ClickHouseSettings settings) {
        this.clickHouse = clickHouse;
        this.timeoutMs = settings.requestTimeout().toMillis();
    }

    public Result provision(ProjectDefinition definition, TopicNames names)
            throws InterruptedException, ExecutionException, TimeoutException {
        await(clickHouse.createDatabaseIfMissing());
        Map<String, Map<String, String>> found = existingColumns();
        List<String> created = new ArrayList<>();
        List<String> existing = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (ModelVersion version : definition.allVersions()) {
            String table = names.table(version.ref());
            Map<String, String> actual = found.get(table);
            if (actual == null) {
                await(clickHouse.execute(TableSchema.createStatement(clickHouse.qualified(table), version)));
                created.add(table);
            } else {
                existing.add(table);
                problems.addAll(differences(clickHouse.qualified(table), TableSchema.columns(version), actual));
            }
        }
        return new Result(created, existing, problems);
    }

    /** Column name to type of every table in the database, read once from system.columns. */
    private Map<String, Map<String, String>> existingColumns() throws InterruptedException, ExecutionException, TimeoutException {
        List<List<String>> rows = await(clickHouse.query("SELECT table, name, type FROM system.columns WHERE database = "
                + ClickHouse.literal(clickHouse.database())));
        Map<String, Map<String, String>> tables = new HashMap<>();
        for (List<String> row : rows) {
            tables.computeIfAbsent(row.get(0), t -> new LinkedHashMap<>()).put(row.get(1), row.get(2));
        }
        return tables;
    }

    static List<String> differences(String table, Map<String, String> expected, Map<String, String> actual) {
        List<String> problems = new ArrayList<>();
        String advice = "; the table is left as it is: migrate it to a new model version, or fix or drop it by hand";
        expected.forEach((column, type) -> {
            String foundType = actual.get(column);
            if (foundType == null) {
                problems.add("table " + table + ": column " + column + " is missing (expected " + type + ")" + advice);
            } else if (!foundType.equals(type)) {
                problems.add("table " + table + ": column " + column + " has type " + foundType + ", expected " + type + advice);
            }
        });
        actual.forEach((column, type) -> {
            if (!expected.containsKey(column)) {
                problems.add("table " + table + ": column " + column + " (" + type + ") is not in the definition" + advice);
            }
        });
        return problems;
    }

    private <T> T await(java.util.concurrent.CompletionStage<T> stage) throws InterruptedException, ExecutionException, TimeoutException {
        return stage.toCompletableFuture().get(timeoutMs, TimeUnit.MILLISECONDS);
    }
}
