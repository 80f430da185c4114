package io.moose.flows.node;

import akka.Done;
import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.micrometer.core.instrument.MeterRegistry;
import io.moose.flows.clickhouse.ClickHouse;
import io.moose.flows.flow.FlowRunner;
import io.moose.flows.flow.FlowSettings;
import io.moose.flows.flow.HopView;
import io.moose.flows.flow.Runner;
import io.moose.flows.flow.Transforms;
import io.moose.flows.hop.HopOwner;
import io.moose.flows.hop.HopStatus;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.TopicNames;
import io.moose.flows.sync.TableSinkSettings;
import io.moose.flows.sync.TableSyncRunner;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/** Starts the real data plane (table syncs and flow hops) for the node's entities. */
final class DataPlaneRunners implements NodeContext.Runners {

    private final ActorSystem<?> system;
    private final AtomicReference<ProjectDefinition> definition;
    private final TopicNames names;
    private final KafkaSettings kafka;
    private final ClickHouse clickhouse;
    private final MeterRegistry metrics;
    private final TableSinkSettings sinkSettings;
    private final FlowSettings flowSettings;
    private final Transforms transforms;

    DataPlaneRunners(ActorSystem<?> system, Config config, AtomicReference<ProjectDefinition> definition, TopicNames names,
                     KafkaSettings kafka, ClickHouse clickhouse, MeterRegistry metrics, Transforms transforms) {
        this.system = system;
        this.definition = definition;
        this.names = names;
        this.kafka = kafka;
        this.clickhouse = clickhouse;
        this.metrics = metrics;
        this.sinkSettings = TableSinkSettings.from(config);
        this.flowSettings = FlowSettings.from(config);
        this.transforms = transforms;
    }

    @Override
    public Runner tableSync(ModelVersion version, HopOwner owner) {
        TableSyncRunner runner = new TableSyncRunner(system, kafka, sinkSettings, version, names, clickhouse, metrics);
        runner.start(owner);
        return runner(runner::stop, () -> List.of(view(runner.status())));
    }

    @Override
    public Runner flow(FlowDefinition flow, HopOwner owner) {
        FlowRunner runner = new FlowRunner(system, kafka, flowSettings, sinkSettings, definition.get(), flow, names,
                clickhouse, metrics, transforms);
        runner.start(owner);
        return runner(runner::stop, () -> runner.status().hops().stream().map(DataPlaneRunners::view).toList());
    }

    private static Runner runner(Supplier<CompletionStage<Done>> stop, Supplier<List<HopView>> status) {
        return new Runner() {
            @Override
            public CompletionStage<Done> stop() {
                return stop.get();
            }

            @Override
            public List<HopView> status() {
                return status.get();
            }
        };
    }

    private static HopView view(HopStatus status) {
        return new HopView(status.hop(), status.state().name().toLowerCase(Locale.ROOT), status.processed(),
                status.perSecond(), status.lag(), status.deadLettered(), status.lastError().orElse(""));
    }
}
