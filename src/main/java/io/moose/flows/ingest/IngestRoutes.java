package io.moose.flows.ingest;

import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpEntity;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.model.RequestEntity;
import akka.http.javadsl.model.StatusCode;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.HttpChallenge;
import akka.http.javadsl.model.headers.WWWAuthenticate;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.PathMatchers;
import akka.http.javadsl.server.Route;
import akka.http.scaladsl.model.EntityStreamSizeException;
import akka.stream.Materializer;
import com.fasterxml.jackson.core.JsonLocation;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.model.Column;
import io.moose.flows.model.DataModel;
import io.moose.flows.model.JsonText;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.RecordValidator;
import io.moose.flows.model.TopicNames;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * {@code POST /ingest/{Model}/{version}} and {@code POST /ingest/{Model}} (latest version), design
 * section 6. A request is validated whole before anything is written, and written as one producer
 * batch or one Kafka transaction ({@link TransactionalWriter}), so readers see all of it or none; a
 * rejected request leaves nothing, a 503 nothing, a 504 all or nothing (not known which).
 */
final class IngestRoutes extends AllDirectives {

    private static final String BEARER = "Bearer ";

    /**
     * A body with trailing garbage or a field given twice is rejected instead of silently keeping one
     * value. A fraction or exponent is read as the double a Float64 stores (rounded once, correctly)
     * and written to Kafka as that double's shortest text, which the sink reads back as the same
     * double. Decimals were kept before, but a decimal has no negative zero: -0.0 was stored as 0
     * (WhatIngestAcceptsIsStoredByteForByteIT).
     */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Supplier<ProjectDefinition> definition;
    private final TopicNames names;
    private final IngestSettings settings;
    private final TransactionalWriter writer;
    private final Materializer materializer;
    private final List<byte[]> apiKeys;
    private final MeterRegistry metrics;
    /** The request counter of each status answered so far (registered once, not looked up per request). */
    private final Map<Integer, Counter> counters = new ConcurrentHashMap<>();

    IngestRoutes(Supplier<ProjectDefinition> definition, TopicNames names, IngestSettings settings,
                 TransactionalWriter writer, Materializer materializer, MeterRegistry metrics) {
        this.definition = definition;
        this.names = names;
        this.settings = settings;
        this.writer = writer;
        this.materializer = materializer;
        this.apiKeys = settings.apiKeys().stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toList();
        this.metrics = metrics;
    }

    Route route() {
        return pathPrefix("ingest", () -> post(() -> mapResponse(this::counted, () -> concat(
                path(PathMatchers.segment().slash(PathMatchers.segment()),
                        (model, version) -> ingest(model, Optional.of(version))),
                path(PathMatchers.segment(), model -> ingest(model, Optional.empty()))))));
    }

    /**
     * Answers a request refused before its body was read once the body has been read and thrown away.
     * Answered while the body was still arriving, Akka HTTP closes the connection after the answer
     * (the rest of the entity is never read), and a client still writing its body gets a broken pipe
     * instead of the answer: IngestFuzzIT's too-large bodies, on a loaded machine.
     */
    private CompletionStage<HttpResponse> afterDiscarding(RequestEntity entity, HttpResponse answer) {
        return entity.discardBytes(materializer).completionStage().handle((done, error) -> answer);
    }

    /** Counts every answered request by status ({@code moose_ingest_requests_total{status="400"}}). */
    private HttpResponse counted(HttpResponse response) {
        counters.computeIfAbsent(response.status().intValue(), status -> Counter.builder("moose.ingest.requests")
                .description("Ingest requests answered, by HTTP status")
                .tag("status", Integer.toString(status))
                .register(metrics)).increment();
        return response;
    }

    private Route ingest(String model, Optional<String> version) {
        return optionalHeaderValueByName("Authorization", authorization -> extractRequestEntity(entity ->
                completeWithFuture(handle(model, version, authorization, entity))));
    }

    private CompletionStage<HttpResponse> handle(String modelName, Optional<String> versionText,
                                                 Optional<String> authorization, RequestEntity entity) {
        if (!authorized(authorization)) {
            entity.discardBytes(materializer);
            return CompletableFuture.completedFuture(json(StatusCodes.UNAUTHORIZED,
                    error("missing or wrong API key; send Authorization: Bearer <key>"))
                    .addHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "moose-flows ingest"))));
        }
        Optional<String> notJson = notJson(entity.getContentType());
        if (notJson.isPresent()) {
            entity.discardBytes(materializer);
            return CompletableFuture.completedFuture(json(StatusCodes.UNSUPPORTED_MEDIA_TYPE, error(notJson.get())));
        }
        ProjectDefinition current = definition.get();
        Optional<DataModel> model = current.model(modelName);
        if (model.isEmpty()) {
            ObjectNode body = error("unknown model '" + modelName + "'");
            ObjectNode known = body.putObject("knownModels");
            current.models().forEach(m -> versionsOf(m, known.putArray(m.name())));
            return afterDiscarding(entity, json(StatusCodes.NOT_FOUND, body));
        }
        Optional<ModelVersion> version = versionText.isPresent()
                ? model.get().version(versionText.get()) : Optional.of(model.get().latest());
        if (version.isEmpty()) {
            ObjectNode body = error("model " + modelName + " has no version '" + versionText.get() + "'");
            versionsOf(model.get(), body.putArray("knownVersions"));
            return afterDiscarding(entity, json(StatusCodes.NOT_FOUND, body));
        }
        if (entity.getContentLengthOption().orElse(0L) > settings.maxBodySize()) {
            return afterDiscarding(entity, tooLarge());
        }
        if (entity instanceof HttpEntity.Strict strict) {
            // The whole body came with the request (nearly always, for bodies of a few KiB): no stream to
            // run. Its length was checked above (a strict entity's is known).
            try {
                return ingest(version.get(), strict.getData().toArray()).exceptionally(this::failure);
            } catch (RuntimeException e) {
                return CompletableFuture.completedFuture(failure(e));
            }
        }
        // The stage toStrict returns runs every dependent stage asynchronously on the common pool,
        // which on a host of 2 cores is a new thread per task (CompletableFuture's fallback): a thread
        // started per request. The body is parsed on the thread that finished reading it instead.
        return entity.withSizeLimit(settings.maxBodySize())
                .toStrict(settings.bodyReadTimeout().toMillis(), materializer)
                .thenComposeAsync(strict -> ingest(version.get(), strict.getData().toArray()), Runnable::run)
                .exceptionally(this::failure);
    }

    /**
     * Why the request's Content-Type rules out JSON, or empty. A request without one reaches here as
     * application/octet-stream and is accepted, as before. The body is checked to be UTF-8 whatever
     * charset it claims (RFC 8259: JSON between systems is UTF-8).
     */
    static Optional<String> notJson(akka.http.javadsl.model.ContentType contentType) {
        akka.http.javadsl.model.MediaType media = contentType.mediaType();
        boolean json = media.mainType().equals("application")
                && (media.subType().equals("json") || media.subType().endsWith("+json") || media.subType().equals("octet-stream"));
        return json ? Optional.empty()
                : Optional.of("Content-Type " + media + " is not JSON; send application/json (or no Content-Type)");
    }

    private CompletionStage<HttpResponse> ingest(ModelVersion version, byte[] body) {
        long invalid = JsonText.firstInvalidUtf8(body);
        if (invalid >= 0) {
            return CompletableFuture.completedFuture(json(StatusCodes.BAD_REQUEST,
                    error("invalid UTF-8 at byte offset " + invalid + " (overlong forms and encoded surrogates are not UTF-8); nothing was written")
                            .put("offset", invalid)));
        }
        if (JsonText.nestsDeeperThan(body, settings.maxNestingDepth(), JSON.getFactory())) {
            return CompletableFuture.completedFuture(json(StatusCodes.BAD_REQUEST, error("arrays and objects nest deeper than "
                    + settings.maxNestingDepth() + " levels (moose-flows.ingest.max-nesting-depth); nothing was written")));
        }
        JsonNode parsed;
        try {
            parsed = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            ObjectNode reply = error("invalid JSON: " + e.getOriginalMessage());
            if (at != null) {
                reply.put("line", at.getLineNr()).put("column", at.getColumnNr()).put("offset", at.getByteOffset());
            }
            return CompletableFuture.completedFuture(json(StatusCodes.BAD_REQUEST, reply));
        } catch (IOException e) {
            return CompletableFuture.completedFuture(json(StatusCodes.BAD_REQUEST, error("unreadable body: " + e.getMessage())));
        }
        if (parsed == null || parsed.isMissingNode()) {
            return CompletableFuture.completedFuture(json(StatusCodes.BAD_REQUEST, error("empty body; send a JSON object or an array of objects")));
        }
        List<JsonNode> records = new ArrayList<>();
        if (parsed.isArray()) {
            parsed.forEach(records::add);
        } else {
            records.add(parsed);
        }
        ObjectNode rejected = validate(version, records);
        if (rejected != null) {
            return CompletableFuture.completedFuture(json(StatusCodes.BAD_REQUEST, rejected));
        }
        ObjectNode accepted = JSON.createObjectNode()
                .put("accepted", records.size())
                .put("model", version.ref().model())
                .put("version", version.ref().version());
        if (records.isEmpty()) {
            return CompletableFuture.completedFuture(json(StatusCodes.OK, accepted));
        }
        List<byte[]> values = new ArrayList<>(records.size());
        for (int i = 0; i < records.size(); i++) {
            byte[] value = compact(records.get(i));
            if (value.length > writer.maxRecordBytes()) {
                return CompletableFuture.completedFuture(json(StatusCodes.PAYLOAD_TOO_LARGE, error("record " + i + " is "
                        + value.length + " bytes; Kafka takes records of at most " + writer.maxRecordBytes()
                        + " bytes (max.request.size); nothing was written")));
            }
            values.add(value);
        }
        return writer.write(names.ingestionTopic(version.ref()), values)
                .thenApply(done -> json(StatusCodes.OK, accepted));
    }

    /** The 400 body listing every problem of every record (up to the configured cap), or null when all are valid. */
    private ObjectNode validate(ModelVersion version, List<JsonNode> records) {
        ArrayNode listed = JSON.createArrayNode();
        int total = 0;
        for (int index = 0; index < records.size(); index++) {
            for (RecordValidator.Problem problem : RecordValidator.validate(records.get(index), version)) {
                total++;
                if (listed.size() < settings.maxReportedProblems()) {
                    listed.addObject().put("index", index).put("field", problem.field()).put("problem", problem.message());
                }
            }
        }
        if (total == 0) {
            return null;
        }
        ObjectNode body = error(total + " problem(s) in the records; nothing was written")
                .put("model", version.ref().model())
                .put("version", version.ref().version())
                .put("problemCount", total)
                .put("truncated", total > listed.size());
        body.set("problems", listed);
        return body;
    }

    private HttpResponse failure(Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        if (cause instanceof EntityStreamSizeException) {
            return tooLarge();
        }
        if (cause instanceof TransactionalWriter.Unavailable) {
            return json(StatusCodes.SERVICE_UNAVAILABLE, error(cause.getMessage() + "; nothing was written, retry later"));
        }
        if (cause instanceof TransactionalWriter.OutcomeUnknown) {
            return json(StatusCodes.GATEWAY_TIMEOUT, error(cause.getMessage() + "; the request's records were either all "
                    + "written or none, which is not known: a retry may store them twice").put("outcome", "unknown"));
        }
        return json(StatusCodes.INTERNAL_SERVER_ERROR, error("ingest failed: " + cause));
    }

    private HttpResponse tooLarge() {
        return json(StatusCodes.PAYLOAD_TOO_LARGE, error("request body larger than " + settings.maxBodySize()
                + " bytes (moose-flows.ingest.max-body-size); split it into several requests"));
    }

    private boolean authorized(Optional<String> authorization) {
        if (apiKeys.isEmpty()) {
            return true;
        }
        if (authorization.isEmpty() || !authorization.get().startsWith(BEARER)) {
            return false;
        }
        byte[] given = authorization.get().substring(BEARER.length()).trim().getBytes(StandardCharsets.UTF_8);
        boolean match = false;
        for (byte[] key : apiKeys) {
            // Constant time, and every key compared, so timing does not reveal a key.
            match |= MessageDigest.isEqual(key, given);
        }
        return match;
    }

    private static void versionsOf(DataModel model, ArrayNode into) {
        model.versions().forEach(v -> into.add(v.ref().version()));
    }

    private static ObjectNode error(String message) {
        return JSON.createObjectNode().put("error", message);
    }

    /**
     * Takes one valid sample record of every model version through what a request's body goes
     * through before it is written (UTF-8 and depth checks, parsing, validation, serialisation),
     * in process and writing nothing, so a fresh JVM's first request does not load and interpret
     * that code (part of the node's warm-up before it reports ready). Returns the records checked.
     */
    int warmUp(ProjectDefinition current) {
        int checked = 0;
        for (ModelVersion version : current.allVersions()) {
            ObjectNode sample = JSON.createObjectNode();
            for (Column column : version.columns()) {
                switch (column.type()) {
                    case STRING -> sample.put(column.name(), "warm-up");
                    case INT32, INT64 -> sample.put(column.name(), 1);
                    case FLOAT64 -> sample.put(column.name(), 0.5);
                    case BOOLEAN -> sample.put(column.name(), true);
                    case DATETIME -> sample.put(column.name(), "2024-01-31T12:00:00Z");
                    case DATE -> sample.put(column.name(), "2024-01-31");
                }
            }
            byte[] body = compact(JSON.createArrayNode().add(sample));
            try {
                if (JsonText.firstInvalidUtf8(body) < 0 && !JsonText.nestsDeeperThan(body, settings.maxNestingDepth(), JSON.getFactory())) {
                    for (JsonNode record : JSON.readTree(body)) {
                        RecordValidator.validate(record, version);
                        compact(record);
                        checked++;
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException("a serialized JSON tree always parses", e);
            }
        }
        return checked;
    }

    private static byte[] compact(JsonNode record) {
        try {
            return JSON.writeValueAsBytes(record);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed JSON tree always serializes", e);
        }
    }

    private static HttpResponse json(StatusCode status, ObjectNode body) {
        return HttpResponse.create().withStatus(status)
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, compact(body)));
    }
}
