package io.moose.flows.node;

import com.typesafe.config.Config;
import io.micrometer.core.instrument.MeterRegistry;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.flow.Runner;
import io.moose.flows.flow.Transforms;
import io.moose.flows.hop.HopOwner;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.TopicNames;

import java.util.concurrent.atomic.AtomicReference;

/**
 * What every entity on a node shares: settings, the definition in force (swapped by project apply),
 * the clients of the real services, metrics, and how to start an entity's streams.
 */
public record NodeContext(Config config, AtomicReference<ProjectDefinition> definition, TopicNames names,
                          KafkaSettings kafka, ClickHouse clickhouse, MeterRegistry metrics, Runners runners,
                          Transforms transforms) {

    /** Starts streams; the node wires the real data plane in, so actors stay testable on their own. */
    public interface Runners {
        /** Starts the version's table sync; its runs belong to {@code owner} and end with it. */
        Runner tableSync(ModelVersion version, HopOwner owner);

        /** Starts the flow's hops; their runs belong to {@code owner} and end with it. */
        Runner flow(FlowDefinition flow, HopOwner owner);
    }

    public ProjectDefinition currentDefinition() {
        return definition.get();
    }
}
