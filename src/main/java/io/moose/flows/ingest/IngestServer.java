package io.moose.flows.ingest;

import akka.actor.typed.ActorSystem;
import akka.http.javadsl.Http;
import akka.http.javadsl.HttpsConnectionContext;
import akka.http.javadsl.ServerBuilder;
import akka.http.javadsl.ServerBinding;
import akka.stream.Materializer;
import com.typesafe.config.Config;
import io.micrometer.core.instrument.MeterRegistry;
import io.moose.flows.kafka.KafkaSettings;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.TopicNames;
import io.moose.flows.node.TlsSettings;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;

/** The ingest HTTP server of one node: binds the ingest routes and owns the producers behind them. */
public final class IngestServer {

    private final AtomicReference<ProjectDefinition> definition;
    private final ServerBinding binding;
    private final TransactionalWriter writer;
    private final Duration unbindDeadline;

    private IngestServer(AtomicReference<ProjectDefinition> definition, ServerBinding binding, TransactionalWriter writer,
                         Duration unbindDeadline) {
        this.definition = definition;
        this.binding = binding;
        this.writer = writer;
        this.unbindDeadline = unbindDeadline;
    }

    /**
     * Binds {@code moose-flows.ingest.interface:port} (port 0 picks a free one, see {@link #port()}),
     * over HTTPS when {@code moose-flows.tls.ingest} is on.
     */
    public static CompletionStage<IngestServer> start(ActorSystem<?> system, Config config, ProjectDefinition definition,
                                                      TopicNames names, MeterRegistry metrics) {
        IngestSettings settings = IngestSettings.from(config);
        TransactionalWriter writer = new TransactionalWriter(KafkaSettings.from(config), settings, names);
        AtomicReference<ProjectDefinition> current = new AtomicReference<>(definition);
        IngestRoutes routes = new IngestRoutes(current::get, names, settings, writer, Materializer.matFromSystem(system), metrics);
        ServerBuilder server = Http.get(system).newServerAt(settings.iface(), settings.port());
        Optional<HttpsConnectionContext> https = TlsSettings.from(config).ingest();
        return https.map(server::enableHttps).orElse(server)
                .bind(routes.route())
                .handle((binding, failure) -> {
                    if (failure != null) {
                        writer.close();
                        throw new IllegalStateException("cannot bind ingest to " + settings.iface() + ":" + settings.port()
                                + " (moose-flows.ingest.interface / port)", failure);
                    }
                    // Producers set up before the node reports ready, not by its first requests.
                    writer.warmUp(definition.allVersions().stream().map(v -> names.ingestionTopic(v.ref())).toList());
                    return new IngestServer(current, binding, writer, settings.produceTimeout());
                });
    }

    public ServerBinding binding() {
        return binding;
    }

    public int port() {
        return binding.localAddress().getPort();
    }

    /** Whether a request is written without first setting up producers: every producer is initialised. */
    public boolean ready() {
        return writer.warm();
    }

    public ProjectDefinition definition() {
        return definition.get();
    }

    /** Requests arriving from now on are validated against and routed by {@code next}. */
    public void setDefinition(ProjectDefinition next) {
        definition.set(next);
    }

    /** Stops accepting requests, lets running ones finish (up to the produce timeout), closes the producers. */
    public CompletionStage<Void> stop() {
        return binding.terminate(unbindDeadline).thenAccept(terminated -> writer.close());
    }
}
