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
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.TopicNames;
import io.moose.flows.node.TlsSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;

/** The ingest HTTP server of one node: binds the ingest routes and owns the producers behind them. */
public final class IngestServer {

    private static final Logger log = LoggerFactory.getLogger(IngestServer.class);

    private final AtomicReference<ProjectDefinition> definition;
    private final ServerBinding binding;
    private final TransactionalWriter writer;
    private final Duration unbindDeadline;
    private final CompletionStage<Void> warm;

    private IngestServer(AtomicReference<ProjectDefinition> definition, ServerBinding binding, TransactionalWriter writer,
                         Duration unbindDeadline, CompletionStage<Void> warm) {
        this.definition = definition;
        this.binding = binding;
        this.writer = writer;
        this.unbindDeadline = unbindDeadline;
        this.warm = warm;
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
                    // Producers set up, and the route taken once, before the node reports ready, not by its first requests.
                    CompletionStage<Void> warm = writer.warmUp(definition.allVersions().stream()
                                    .map(v -> names.ingestionTopic(v.ref())).toList())
                            .thenRun(() -> routes.warmUp(definition))
                            .thenCompose(checked -> https.isPresent()
                                    // Its own certificate need not be one a loopback client trusts: no request to itself.
                                    ? CompletableFuture.<Void>completedFuture(null)
                                    : requestItself(settings, binding, definition));
                    return new IngestServer(current, binding, writer, settings.produceTimeout(), warm);
                });
    }

    public ServerBinding binding() {
        return binding;
    }

    public int port() {
        return binding.localAddress().getPort();
    }

    /**
     * Whether a request is answered without first setting anything up: every transactional producer
     * is initialised, every single-batch producer has been through a send Kafka refuses (nothing
     * written), one sample record of every model version has been through validation in process,
     * and the node has sent itself one ingest request.
     */
    public boolean ready() {
        return writer.warm() && warm.toCompletableFuture().isDone();
    }

    /**
     * Sends this server one real ingest request carrying no records ({@code []} to the first model
     * version: 200, nothing written), from a client of its own over loopback, so that the first
     * client's request does not pay for a cold HTTP connection, request parsing, the route and the
     * JSON parser on a fresh JVM (on a busy host that was most of the second a first request took
     * beyond the producers). It is counted like any request (one 200). Never fails: a node whose
     * request to itself went wrong is still ready (its producers are), and says why in the log.
     */
    private static CompletionStage<Void> requestItself(IngestSettings settings, ServerBinding binding,
                                                       ProjectDefinition definition) {
        if (definition.allVersions().isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        ModelVersion version = definition.allVersions().get(0);
        String host = switch (settings.iface()) {
            case "0.0.0.0", "" -> "127.0.0.1";
            case "::", "[::]" -> "[::1]";
            default -> settings.iface().contains(":") && !settings.iface().startsWith("[")
                    ? "[" + settings.iface() + "]" : settings.iface();
        };
        URI uri = URI.create("http://" + host + ":" + binding.localAddress().getPort() + "/ingest/"
                + URLEncoder.encode(version.ref().model(), StandardCharsets.UTF_8) + "/"
                + URLEncoder.encode(version.ref().version(), StandardCharsets.UTF_8));
        HttpRequest.Builder request = HttpRequest.newBuilder(uri)
                .timeout(settings.produceTimeout())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("[]"));
        settings.apiKeys().stream().findFirst().ifPresent(key -> request.header("Authorization", "Bearer " + key));
        // HTTP/1.1 as the ingest clients speak it (the JDK client would otherwise offer an h2c upgrade).
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        long started = System.nanoTime();
        return client.sendAsync(request.build(), HttpResponse.BodyHandlers.discarding())
                .handle((response, error) -> {
                    long ms = (System.nanoTime() - started) / 1_000_000;
                    if (error != null || response.statusCode() != 200) {
                        log.warn("ingest warm-up request to {} {} after {} ms; ready anyway", uri,
                                error != null ? "failed: " + error : "answered " + response.statusCode(), ms);
                    } else {
                        log.info("ingest warm-up request to itself answered in {} ms", ms);
                    }
                    return null;
                });
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
