package io.moose.flows.node;

import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.clickhouse.ClickHouseSettings;
import io.moose.flows.clickhouse.TableProvisioner;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.kafka.TopicProvisioner;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.TopicNames;
import org.apache.kafka.clients.admin.Admin;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * Makes sure every topic and table of a project definition exists before a node runs anything.
 * Runs on every node start and after every definition change; re-running changes nothing.
 */
public final class Provisioning {

    /** What provisioning found and did. {@code problems} make a node refuse to start; warnings do not. */
    public record Report(List<String> createdTopics, List<String> existingTopics,
                         List<String> createdTables, List<String> existingTables,
                         List<String> warnings, List<String> problems) {

        public boolean ok() {
            return problems.isEmpty();
        }

        /** Throws with every problem when there is one; a node calls this before starting its flows. */
        public Report requireOk() {
            if (!ok()) {
                throw new IllegalStateException("provisioning found " + problems.size() + " problem(s):\n  - "
                        + String.join("\n  - ", problems));
            }
            return this;
        }

        public String summary() {
            return "topics: " + createdTopics.size() + " created, " + existingTopics.size() + " already existed; tables: "
                    + createdTables.size() + " created, " + existingTables.size() + " already existed; "
                    + warnings.size() + " warning(s), " + problems.size() + " problem(s)";
        }
    }

    private Provisioning() {
    }

    public static Report run(KafkaSettings kafka, ClickHouseSettings clickhouse, ProjectDefinition definition,
                             TopicNames names) throws InterruptedException {
        List<String> problems = new ArrayList<>();
        TopicProvisioner.Result topics = new TopicProvisioner.Result(List.of(), List.of(), List.of());
        try (Admin admin = Admin.create(kafka.commonClientProperties())) {
            topics = new TopicProvisioner(admin, kafka).provision(TopicProvisioner.topicsOf(definition, names));
        } catch (ExecutionException | TimeoutException e) {
            problems.add("Kafka " + kafka.bootstrapServers() + ": cannot create topics: " + rootMessage(e));
        }
        TableProvisioner.Result tables = new TableProvisioner.Result(List.of(), List.of(), List.of());
        try (ClickHouse clickHouse = ClickHouse.connect(clickhouse)) {
            tables = new TableProvisioner(clickHouse, clickhouse).provision(definition, names);
            problems.addAll(tables.problems());
        } catch (ExecutionException | TimeoutException e) {
            problems.add("ClickHouse " + clickhouse.url() + ": cannot create database " + clickhouse.database()
                    + " or its tables: " + rootMessage(e));
        }
        return new Report(topics.created(), topics.existing(), tables.created(), tables.existing(),
                topics.warnings(), problems);
    }

    private static String rootMessage(Throwable e) {
        Throwable cause = e;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }
}
