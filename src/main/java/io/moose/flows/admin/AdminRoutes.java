package io.moose.flows.admin;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.HttpChallenge;
import akka.http.javadsl.model.headers.WWWAuthenticate;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.http.javadsl.unmarshalling.Unmarshaller;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.node.NodeExtension;
import io.moose.flows.node.NodeServices;
import io.moose.flows.model.DataOnlyHocon;
import io.moose.flows.model.DefinitionException;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The admin routes (design section 6), served by Akka Management HTTP next to its own
 * {@code /cluster} and {@code /health} routes; registered in moose-akka.conf under
 * {@code akka.management.http.routes.moose-admin}. Any node answers for the whole cluster by asking
 * the sharded entities.
 *
 * <p>Routes that change something (pause, resume, apply, a member's leave or down) need
 * {@code Authorization: Bearer <token>} with {@code moose-flows.admin.token}; reads need it too when
 * {@code admin.protect-reads} is on. Management's own routes are read-only
 * ({@code akka.management.http.route-providers-read-only = on}), so its unauthenticated
 * {@code PUT/DELETE /cluster/members/...} do not exist; leaving and downing a member are offered
 * here, with the token. Management's read-only {@code /cluster} routes are served from here too, so
 * they follow protect-reads; {@code /health/*} and {@code /bootstrap/*} stay open (orchestrators and
 * joining nodes call them without a token). Every write is logged (logger {@value #AUDIT_LOGGER}:
 * method, path, status, caller address; never a header).
 */
public final class AdminRoutes extends AllDirectives implements ManagementRouteProvider {

    private static final String REQUEST_BODY = "request body";

    /** The logger every admin write is reported to, whatever its outcome. */
    public static final String AUDIT_LOGGER = "io.moose.flows.admin.audit";

    private static final Logger AUDIT = LoggerFactory.getLogger(AUDIT_LOGGER);

    private final ActorSystem<?> system;

    /** Akka Management instantiates route providers with the classic system. */
    public AdminRoutes(ExtendedActorSystem classic) {
        this.system = Adapter.toTyped(classic);
    }

    @Override
    public Route routes(ManagementRouteProviderSettings management) {
        // Management starts after the node's services; the stage is complete by the first request.
        CompletionStage<Handlers> handlers = NodeExtension.get(system).services()
                .thenApply(services -> new Handlers(system, services));
        return onSuccess(handlers, Handlers::route);
    }

    private static final class Handlers extends AllDirectives {

        private final NodeServices services;
        private final AdminSettings settings;
        private final AdminAuth auth;
        private final ClusterStatus cluster;
        private final MigrationGauges gauges;
        private final ActorRef<ProjectActor.Command> project;
        private final ActorSystem<?> system;
        private final Route managementClusterReads;
        private final DlqRoutes dlq;

        Handlers(ActorSystem<?> system, NodeServices services) {
            this.system = system;
            this.managementClusterReads = akka.management.cluster.javadsl.ClusterHttpManagementRoutes.readOnly(
                    akka.cluster.Cluster.get(Adapter.toClassic(system)));
            this.services = services;
            this.settings = AdminSettings.from(services.context().config());
            this.auth = new AdminAuth(settings);
            this.cluster = new ClusterStatus(system, services.context(), settings);
            this.gauges = new MigrationGauges(services.metrics());
            this.project = ProjectActor.singleton(system, services);
            this.dlq = new DlqRoutes(system, services.context(), settings);
        }

        Route route() {
            return concat(
                    path("flows", () -> get(() -> read(() -> completeWithFuture(flows())))),
                    pathPrefix("flows", () -> pathPrefix(PathMatchers.segment(), id -> concat(
                            pathEnd(() -> get(() -> read(() -> completeWithFuture(flow(id))))),
                            path("pause", () -> post(() -> change(() -> completeWithFuture(change(id, ClusterStatus.Ask.PAUSE))))),
                            path("resume", () -> post(() -> change(() -> completeWithFuture(change(id, ClusterStatus.Ask.RESUME))))),
                            path("dlq", () -> get(() -> read(() -> parameterOptional("limit", limit ->
                                    completeWithFuture(dlq.list(id, limit)))))),
                            path(PathMatchers.segment("dlq").slash("replay"), () -> post(() -> change(() ->
                                    parameterOptional("since", since -> completeWithFuture(dlq.replay(id, since))))))))),
                    path("migrations", () -> get(() -> read(() -> completeWithFuture(migrations())))),
                    path(PathMatchers.segment("migrations").slash(PathMatchers.segment()), id ->
                            get(() -> read(() -> completeWithFuture(migration(id))))),
                    path("project", () -> get(() -> read(() -> completeWithFuture(project())))),
                    path(PathMatchers.segment("project").slash("plan"), () -> post(() -> read(() ->
                            entity(Unmarshaller.entityToString(), text -> completeWithFuture(plan(text, false)))))),
                    path(PathMatchers.segment("project").slash("apply"), () -> post(() -> change(() ->
                            entity(Unmarshaller.entityToString(), text -> completeWithFuture(plan(text, true)))))),
                    path("shards", () -> get(() -> read(() -> completeWithFuture(shards())))),
                    path("metrics", () -> get(() -> read(() -> completeWithFuture(metrics())))),
                    // The address has slashes (akka://system@host:port), so it is the rest of the path; only
                    // .../leave and .../down are routes (AdminRoutesAreAllListedIT: docs/admin-routes.md).
                    pathPrefix(PathMatchers.segment("cluster").slash("members"), () -> post(() ->
                            path(PathMatchers.remaining(), rest -> rest.endsWith("/leave") || rest.endsWith("/down")
                                    ? change(() -> completeWithFuture(member(rest))) : reject()))),
                    // Management's read-only /cluster routes (members, shards), served here so they
                    // follow protect-reads like every other read (moose-akka.conf turns off its own).
                    pathPrefixTest("cluster", () -> read(() -> managementClusterReads)));
        }

        // ---- handlers

        private CompletionStage<HttpResponse> flows() {
            return cluster.all().thenApply(all -> {
                ArrayNode list = AdminJson.MAPPER.createArrayNode();
                all.forEach(status -> list.add(AdminJson.entity(status)));
                return json(StatusCodes.OK, AdminJson.MAPPER.createObjectNode().set("flows", list));
            });
        }

        private CompletionStage<HttpResponse> flow(String id) {
            return cluster.find(id)
                    .map(target -> cluster.status(target).thenApply(status -> json(StatusCodes.OK, AdminJson.entity(status))))
                    .orElseGet(() -> done(unknownFlow(id)));
        }

        private CompletionStage<HttpResponse> change(String id, ClusterStatus.Ask ask) {
            Optional<ClusterStatus.Target> target = cluster.find(id);
            if (target.isEmpty()) {
                return done(unknownFlow(id));
            }
            return cluster.change(target.get(), ask)
                    .thenApply(status -> json(StatusCodes.OK, AdminJson.entity(status)))
                    .exceptionally(error -> json(StatusCodes.GATEWAY_TIMEOUT, AdminJson.error(id + " did not confirm the "
                            + ask.name().toLowerCase() + " within moose-flows.admin.ask-timeout (" + settings.askTimeout()
                            + "); it may still take effect, check GET /flows/" + id)));
        }

        private CompletionStage<HttpResponse> migrations() {
            return cluster.allProgress().thenApply(all -> {
                gauges.update(all);
                ArrayNode list = AdminJson.MAPPER.createArrayNode();
                all.forEach(progress -> list.add(AdminJson.migration(progress)));
                return json(StatusCodes.OK, AdminJson.MAPPER.createObjectNode().set("migrations", list));
            });
        }

        private CompletionStage<HttpResponse> migration(String flowId) {
            Optional<FlowDefinition> flow = cluster.migrations().stream().filter(f -> f.id().equals(flowId)).findFirst();
            if (flow.isEmpty()) {
                return done(json(StatusCodes.NOT_FOUND, AdminJson.error("no migration or backfill flow '" + flowId
                        + "' in the definition in force; GET /migrations lists them")));
            }
            return cluster.progress(flow.get()).thenApply(progress -> {
                gauges.update(java.util.List.of(progress));
                return json(StatusCodes.OK, AdminJson.migration(progress));
            });
        }

        private CompletionStage<HttpResponse> project() {
            return askProject(ProjectActor.Get::new)
                    .thenApply(current -> {
                        ProjectDefinition definition = ProjectDefinitionLoader.parse(current.text(), current.source());
                        return json(StatusCodes.OK, AdminJson.project(current, definition, services.context().names(),
                                table -> services.context().clickhouse().qualified(table)));
                    })
                    .exceptionally(error -> json(StatusCodes.SERVICE_UNAVAILABLE, AdminJson.error(
                            "the project actor did not answer within moose-flows.admin.ask-timeout (" + settings.askTimeout()
                                    + "); the cluster may still be forming, try again")));
        }

        private CompletionStage<ProjectActor.Current> askProject(java.util.function.Function<ActorRef<ProjectActor.Current>, ProjectActor.Command> command) {
            return akka.actor.typed.javadsl.AskPattern.ask(project, command::apply, settings.askTimeout(), system.scheduler());
        }

        /**
         * Plan (dry run) or apply a definition. 400 for a body that is not HOCON or that uses an include
         * or a substitution (a definition from a request is data, never a program); 422 for one that
         * is but cannot run (e.g. a migration narrowing a column type) or would change what is
         * deployed; 503 when the cluster cannot apply it now.
         */
        private CompletionStage<HttpResponse> plan(String text, boolean apply) {
            if (text.isBlank()) {
                return done(json(StatusCodes.BAD_REQUEST, AdminJson.error("empty body; send the project definition (HOCON)")));
            }
            try {
                // Data only: no include, no substitution, nothing read from the node (issue 12). Each
                // flow's transform class must load on this node and fit its versions (issue 13).
                ProjectDefinitionLoader.parseUntrusted(text, REQUEST_BODY, services.context().transforms());
            } catch (DataOnlyHocon.Refused e) {
                return done(json(StatusCodes.BAD_REQUEST, AdminJson.error(e.getMessage())));
            } catch (DefinitionException e) {
                return done(refused("the definition cannot run", e.problems(), null));
            }
            java.time.Duration timeout = apply ? settings.applyTimeout() : settings.askTimeout();
            CompletionStage<ProjectActor.ApplyResult> asked = akka.actor.typed.javadsl.AskPattern.ask(project,
                    replyTo -> new ProjectActor.Apply(text, !apply, replyTo), timeout, system.scheduler());
            return asked.thenApply(result -> {
                if (result.plan() == null) {
                    return refused("the definition cannot run", result.problems(), null);
                }
                if (!result.plan().acceptable()) {
                    return refused("the plan is refused: applying only adds versions and flows", result.problems(), result);
                }
                if (apply && !result.applied() && !result.problems().isEmpty()) {
                    ObjectNode body = AdminJson.error("not applied: " + String.join("; ", result.problems()));
                    body.set("plan", AdminJson.plan(result.plan()));
                    return json(StatusCodes.SERVICE_UNAVAILABLE, body);
                }
                ObjectNode body = AdminJson.MAPPER.createObjectNode()
                        .put("applied", result.applied())
                        .put("changesNothing", result.plan().changesNothing());
                body.set("plan", AdminJson.plan(result.plan()));
                return json(StatusCodes.OK, body);
            }).exceptionally(error -> json(StatusCodes.SERVICE_UNAVAILABLE, AdminJson.error(
                    "the project actor did not answer within " + timeout + " (moose-flows.admin."
                            + (apply ? "apply-timeout" : "ask-timeout") + "); an apply may still complete, check GET /project")));
        }

        /**
         * {@code POST /cluster/members/{address}/leave} or {@code .../down}: what Management's own
         * {@code PUT/DELETE /cluster/members/{address}} did without a token. 400 for an address that
         * cannot be read, 404 for an address that is not a member (other operations are no route).
         */
        private CompletionStage<HttpResponse> member(String rest) {
            int slash = rest.lastIndexOf('/');
            String operation = slash < 0 ? "" : rest.substring(slash + 1);
            if (!operation.equals("leave") && !operation.equals("down")) {
                return done(json(StatusCodes.NOT_FOUND, AdminJson.error(
                        "expected POST /cluster/members/{address}/leave or /cluster/members/{address}/down")));
            }
            String text = java.net.URLDecoder.decode(rest.substring(0, slash), java.nio.charset.StandardCharsets.UTF_8);
            akka.actor.Address address;
            try {
                address = akka.actor.AddressFromURIString.parse(text.contains("://") ? text : "akka://" + text);
            } catch (Exception e) { // MalformedURLException, thrown by Scala code without being declared
                return done(json(StatusCodes.BAD_REQUEST, AdminJson.error(
                        "not a member address; expected e.g. akka://moose-flows@10.0.0.5:25520 (GET /cluster/members lists them)")));
            }
            akka.cluster.Cluster cluster = akka.cluster.Cluster.get(Adapter.toClassic(system));
            boolean member = java.util.stream.StreamSupport.stream(cluster.state().getMembers().spliterator(), false)
                    .anyMatch(m -> m.address().equals(address));
            if (!member) {
                return done(json(StatusCodes.NOT_FOUND, AdminJson.error("no member " + address
                        + " in the cluster; GET /cluster/members lists them")));
            }
            if (operation.equals("leave")) {
                cluster.leave(address);
            } else {
                cluster.down(address);
            }
            return done(json(StatusCodes.OK, AdminJson.MAPPER.createObjectNode()
                    .put("address", address.toString())
                    .put("operation", operation)
                    .put("message", (operation.equals("leave") ? "leaving: " : "downing: ") + address
                            + "; follow it with GET /cluster/members")));
        }

        private CompletionStage<HttpResponse> shards() {
            return cluster.shards().thenApply(byType -> json(StatusCodes.OK, AdminJson.MAPPER.valueToTree(byType)));
        }

        private CompletionStage<HttpResponse> metrics() {
            return cluster.allProgress().thenApply(all -> {
                gauges.update(all);
                return HttpResponse.create().withStatus(StatusCodes.OK)
                        .withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, services.metrics().scrape()));
            });
        }

        // ---- authorization

        private Route read(Supplier<Route> inner) {
            return authorized(false, inner);
        }

        /**
         * A route that changes something: the token, and an audit line whatever the outcome.
         * Management's route-providers-read-only does not apply here: it is on so that Management's
         * own routes cannot change the cluster; these routes are guarded by the token instead.
         */
        private Route change(Supplier<Route> inner) {
            return extractRequest(request -> mapResponse(response -> audited(request, response),
                    () -> authorized(true, inner)));
        }

        /** Method, path, status and caller; never a header (the token) nor the body. */
        private static HttpResponse audited(akka.http.javadsl.model.HttpRequest request, HttpResponse response) {
            String caller = request.getAttribute(akka.http.javadsl.model.AttributeKeys.remoteAddress)
                    .flatMap(akka.http.javadsl.model.RemoteAddress::getAddress)
                    .map(java.net.InetAddress::getHostAddress)
                    .orElse("unknown");
            AUDIT.info("admin write {} {} -> {} from {}", request.method().value(), request.getUri().path(),
                    response.status().intValue(), caller);
            return response;
        }

        private Route authorized(boolean changes, Supplier<Route> inner) {
            return optionalHeaderValueByName("Authorization", header -> switch (auth.check(changes, header)) {
                case ALLOWED -> inner.get();
                case NO_TOKEN_CONFIGURED -> complete(json(StatusCodes.FORBIDDEN, AdminJson.error(
                        "no admin token is configured; set moose-flows.admin.token (or MOOSE_ADMIN_TOKEN) on the nodes")));
                case REFUSED -> complete(json(StatusCodes.UNAUTHORIZED, AdminJson.error(
                        "missing or wrong admin token; send Authorization: Bearer <moose-flows.admin.token>"))
                        .addHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "moose-flows admin"))));
            });
        }

        // ---- replies

        private HttpResponse unknownFlow(String id) {
            return json(StatusCodes.NOT_FOUND, AdminJson.error("no flow or table sync '" + id
                    + "' in the definition in force; GET /flows lists them"));
        }

        private static HttpResponse refused(String what, java.util.List<String> problems, ProjectActor.ApplyResult result) {
            ObjectNode body = AdminJson.error(what + ": " + String.join("; ", problems));
            body.set("problems", AdminJson.MAPPER.valueToTree(problems));
            if (result != null) {
                body.set("plan", AdminJson.plan(result.plan()));
            }
            return json(StatusCodes.UNPROCESSABLE_ENTITY, body);
        }

        private static CompletionStage<HttpResponse> done(HttpResponse response) {
            return CompletableFuture.completedFuture(response);
        }

        private static HttpResponse json(StatusCode status, Object body) {
            return HttpResponse.create().withStatus(status)
                    .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, AdminJson.bytes(body)));
        }
    }
}
