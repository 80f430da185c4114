package io.moose.flows.flow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.api.RecordTransform;
import io.moose.flows.api.Transform;
import io.moose.flows.model.DefinitionException;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.VersionRef;
import io.moose.flows.testing.TransformJars;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Users' transform classes: found in plugin jars, isolated from the service, checked at plan against the models. */
class TransformsTest {

    private static final String SHIPPED = read(Path.of("conf/project.conf"));
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A: every kind of column a typed transform reads; B: every kind it writes. */
    private static final String AB = """
            models = [
              { name = A, versions = [ { version = "1", columns = [
                  { name = id, type = String }
                  { name = n, type = Int32, nullable = true }
                  { name = at, type = DateTime }
                  { name = tag, type = String, default = "untagged" }
              ] } ] }
              { name = B, versions = [ { version = "1", columns = [
                  { name = id, type = String }
                  { name = total, type = Int64 }
                  { name = note, type = String, nullable = true }
                  { name = day, type = Date }
                  { name = must, type = Boolean }
                  { name = extra, type = Float64, default = 1.5 }
              ] } ] }
            ]
            flows = [
              { source = "A/1", target = "B/1", transform = "io.acme.X" }
            ]
            """;

    private static final String FITS = """
            package io.acme;
            import io.moose.flows.api.Nullable;
            import io.moose.flows.api.RecordTransform;
            import java.time.Instant;
            import java.time.LocalDate;
            import java.time.ZoneOffset;
            import java.util.List;
            public final class X implements RecordTransform<X.In, X.Out> {
                public record In(String id, @Nullable Integer n, Instant at, String tag) {}
                public record Out(String id, long total, @Nullable String note, LocalDate day, boolean must) {}
                public List<Out> apply(In in) {
                    return List.of(new Out(in.id(), in.n() == null ? -1 : in.n(), in.tag(), LocalDate.ofInstant(in.at(), ZoneOffset.UTC), true));
                }
            }
            """;

    @TempDir
    Path dir;

    @Test
    void aTypedTransformWhoseOutputFieldHasTheWrongTypeIsRefusedAtItsFlow() {
        Path jar = TransformJars.build(Map.of("io.acme.Enrich", """
                package io.acme;
                import io.moose.flows.api.RecordTransform;
                import java.util.List;
                public final class Enrich implements RecordTransform<Enrich.In, Enrich.Out> {
                    public record In(String eventId, String timestamp, String userId, String activity) {}
                    public record Out(String eventId, String timestamp, String userId, String action, String target, int page) {}
                    public List<Out> apply(In in) { return List.of(); }
                }
                """), dir.resolve("enrich.jar"));
        String text = SHIPPED.replace("transform = \"io.moose.flows.example.ParseActivityWithPage\" }",
                "transform = \"io.acme.Enrich\" } # here");
        List<String> problems = refused(text, plugins(jar.getParent()));
        assertEquals(List.of("request body:" + lineOf(text, "# here") + ": flows[1].transform: io.acme.Enrich: output field 'page'"
                + " is Int32, target column ParsedActivity/0.1.page is String"), problems);
    }

    @Test
    void everyComponentThatDoesNotFitItsColumnIsNamedInOneGo() {
        Path jar = TransformJars.build(Map.of("io.acme.X", """
                package io.acme;
                import io.moose.flows.api.Nullable;
                import io.moose.flows.api.RecordTransform;
                import java.time.LocalDate;
                import java.util.List;
                public final class X implements RecordTransform<X.In, X.Out> {
                    public record In(String id, int n, String missing, List<String> at) {}
                    public record Out(String id, String total, @Nullable LocalDate day) {}
                    public List<Out> apply(In in) { return List.of(); }
                }
                """), dir.resolve("x.jar"));
        List<String> problems = refused(AB, plugins(dir)).stream().map(p -> p.substring(p.indexOf("io.acme.X: ") + 11)).toList();
        assertEquals(List.of(
                "input field 'n' cannot hold null, source column A/1.n is nullable; use a boxed type marked @Nullable",
                "input field 'missing' is not a column of A/1 (columns: id, n, at, tag)",
                "input field 'at' is java.util.List, which no column type binds to; source column A/1.at is DateTime (use Instant or String)",
                "output field 'total' is String, target column B/1.total is Int64",
                "output field 'day' is @Nullable, target column B/1.day is not nullable",
                "target column B/1.must is not nullable and has no default, but the output record has no field 'must'"), problems);
    }

    @Test
    void aTypedTransformThatFitsRunsWithDefaultsFilledAndItsOutputValid() {
        TransformJars.build(Map.of("io.acme.X", FITS), dir.resolve("x.jar"));
        Transforms transforms = plugins(dir);
        ProjectDefinition project = ProjectDefinitionLoader.parseUntrusted(AB, "request body", transforms);
        FlowDefinition flow = project.flows().get(0);
        var target = project.version(VersionRef.parse("B/1")).orElseThrow();
        TransformStep step = new TransformStep(flow.id(), transforms.create(flow, project.version(flow.source()).orElseThrow(), target),
                target, "out", "dlq", JSON);

        // tag is left out: its default is what the transform reads; n is null
        var outcome = step.apply(input("{\"id\":\"r1\",\"n\":null,\"at\":\"2024-01-31T23:30:00-01:00\"}"));
        assertFalse(outcome.deadLettered(), () -> new String(outcome.records().get(0).headers()
                .lastHeader(TransformStep.ERROR_MESSAGE).value(), StandardCharsets.UTF_8));
        JsonNode out = tree(outcome.records().get(0).value());
        assertEquals("{\"id\":\"r1\",\"total\":-1,\"note\":\"untagged\",\"day\":\"2024-02-01\",\"must\":true}", out.toString());

        // epoch seconds read as a DateTime column holds them
        JsonNode fromSeconds = tree(step.apply(input("{\"id\":\"r2\",\"n\":7,\"at\":86400,\"tag\":\"t\"}")).records().get(0).value());
        assertEquals("1970-01-02", fromSeconds.path("day").asText());
        assertEquals(7, fromSeconds.path("total").asLong());
    }

    @Test
    void dateTimesReachATypedTransformAsTheValidatorReadsThemAndLeaveItAsIsoText() {
        ProjectDefinition shipped = ProjectDefinitionLoader.parse(SHIPPED, "shipped");
        FlowDefinition flow = new FlowDefinition(VersionRef.parse("UserActivity/0.1"), VersionRef.parse("ParsedActivity/0.1"),
                Optional.of("io.moose.flows.example.ParseActivityRecords"), false);
        var target = shipped.version(flow.target()).orElseThrow();
        TransformStep step = new TransformStep(flow.id(), Transforms.classPathOnly().create(flow,
                shipped.version(flow.source()).orElseThrow(), target), target, "out", "dlq", JSON);
        Map<String, String> written = Map.of(
                "\"2024-01-31T12:00:00Z\"", "2024-01-31T12:00:00Z",
                "\"2024-01-31 13:00:00\"", "2024-01-31T13:00:00Z",
                "\"2024-01-31T12:00:00.250+01:00\"", "2024-01-31T11:00:00.250Z",
                "1706702400", "2024-01-31T12:00:00Z");
        written.forEach((in, out) -> {
            var outcome = step.apply(input("{\"eventId\":\"e\",\"timestamp\":" + in
                    + ",\"userId\":\"u\",\"activity\":\"click:b@/p\",\"region\":\"eu\"}"));
            assertFalse(outcome.deadLettered(), in);
            assertEquals(out, tree(outcome.records().get(0).value()).path("timestamp").asText(), in);
        });
    }

    @Test
    void aClassInNoJarIsRefusedNamingTheFlowTheClassAndTheJarsSearched() {
        TransformJars.build(Map.of("io.acme.X", FITS), dir.resolve("other.jar"));
        String text = SHIPPED.replace("transform = \"io.moose.flows.example.ParseActivity\" }", "transform = \"io.acme.Nope\" } # here");
        List<String> problems = refused(text, plugins(dir));
        assertEquals(List.of("request body:" + lineOf(text, "# here") + ": flows[0].transform: io.acme.Nope: no such class"
                + " (flow UserActivity_0_0_ParsedActivity_0_0) on the service's class path or in a plugin jar; jars searched in "
                + dir + " (moose-flows.transforms.path): other.jar"), problems);
    }

    @Test
    void theStarterSnippetAppendedToTheShippedDefinitionPlansWithTheStarterJarAndIsRefusedWithout() throws Exception {
        String text = SHIPPED + Files.readString(Path.of("examples/transform-starter/project-snippet.conf"));
        String missing = refused(text, plugins(dir)).get(0);
        int line = lineOf(text, "com.example.transforms.PageViews\" }");
        assertEquals("request body:" + line + ": flows[4].transform: com.example.transforms.PageViews: no such class (flow"
                + " UserActivity_0_1_PageView_0_1) on the service's class path or in a plugin jar; jars searched in " + dir
                + " (moose-flows.transforms.path): none there", missing);

        TransformJars.build(Path.of("examples/transform-starter/src/main/java"), dir.resolve("my-transforms-1.0.0.jar"));
        ProjectDefinition project = ProjectDefinitionLoader.parseUntrusted(text, "request body", plugins(dir));
        assertEquals("UserActivity_0_1_PageView_0_1", project.flows().get(4).id());
        String misfit = refused(text.replace("{ name = section, type = String }", "{ name = section, type = Int32 }"), plugins(dir)).get(0);
        assertTrue(misfit.endsWith("flows[4].transform: com.example.transforms.PageViews: output field 'section' is String,"
                + " target column PageView/0.1.section is Int32"), misfit);
        String missingColumn = refused(text.replace("{ name = section, type = String }", "{ name = sections, type = String }"),
                plugins(dir)).toString();
        assertTrue(missingColumn.contains("output field 'section' is not a column of PageView/0.1"), missingColumn);
        assertTrue(missingColumn.contains("target column PageView/0.1.sections is not nullable and has no default, but the output"
                + " record has no field 'sections'"), missingColumn);
    }

    @Test
    void aClassThatIsNotATransformIsRefused() {
        String text = SHIPPED.replace("transform = \"io.moose.flows.example.ParseActivity\" }", "transform = \"java.lang.String\" }");
        assertTrue(refused(text, Transforms.classPathOnly()).get(0).endsWith("flows[0].transform: java.lang.String: does not implement "
                + Transform.class.getName() + " or " + RecordTransform.class.getName()));
    }

    @Test
    void aPluginSeesTheApiAndJacksonOfTheServiceButNoneOfItsOtherClasses() throws Exception {
        TransformJars.build(Map.of("io.acme.X", FITS), dir.resolve("x.jar"));
        ClassLoader plugin = new TransformPlugins(Optional.of(dir)).find("io.acme.X").orElseThrow().type().getClassLoader();
        assertSame(RecordTransform.class, plugin.loadClass("io.moose.flows.api.RecordTransform"));
        assertSame(ObjectNode.class, plugin.loadClass("com.fasterxml.jackson.databind.node.ObjectNode"));
        assertThrows(ClassNotFoundException.class, () -> plugin.loadClass(Transforms.class.getName()));
        assertThrows(ClassNotFoundException.class, () -> plugin.loadClass("akka.actor.typed.ActorSystem"));
        assertThrows(ClassNotFoundException.class, () -> plugin.loadClass("org.apache.kafka.clients.consumer.KafkaConsumer"));
    }

    @Test
    void aPluginBuiltOnAServiceClassIsReportedUnavailableNamingTheMissingClass() {
        // Compiles (the service's classes are on the compiler's class path) but cannot load in a plugin loader.
        TransformJars.build(Map.of("io.acme.Broken", """
                package io.acme;
                import com.fasterxml.jackson.databind.node.ObjectNode;
                import io.moose.flows.model.FlowDefinition;
                import io.moose.flows.model.ModelVersion;
                import java.util.List;
                public final class Broken implements io.moose.flows.api.Transform, io.moose.flows.model.TransformCheck {
                    public List<ObjectNode> apply(ObjectNode r) { return List.of(r); }
                    public List<String> problems(FlowDefinition f, ModelVersion s, ModelVersion t) { return List.of(); }
                }
                """), dir.resolve("broken.jar"));
        FlowDefinition flow = new FlowDefinition(VersionRef.parse("UserActivity/0.0"), VersionRef.parse("ParsedActivity/0.0"),
                Optional.of("io.acme.Broken"), false);
        ProjectDefinition shipped = ProjectDefinitionLoader.parse(SHIPPED, "shipped");
        Transforms.Unavailable e = assertThrows(Transforms.Unavailable.class, () -> plugins(dir).create(flow,
                shipped.version(flow.source()).orElseThrow(), shipped.version(flow.target()).orElseThrow()));
        assertTrue(e.getMessage().startsWith("io.acme.Broken: cannot be loaded (flow UserActivity_0_0_ParsedActivity_0_0):"
                + " java.lang.NoClassDefFoundError: io/moose/flows/model/TransformCheck; a plugin jar sees only"), e.getMessage());
    }

    @Test
    void aReplacedJarIsLoadedAnewWhileClassesAlreadyLoadedKeepWorking() throws Exception {
        Path jar = dir.resolve("v.jar");
        TransformJars.build(Map.of("io.acme.V", versioned("v1")), jar);
        TransformPlugins plugins = new TransformPlugins(Optional.of(dir));
        Class<?> v1 = plugins.find("io.acme.V").orElseThrow().type();
        assertSame(v1, plugins.find("io.acme.V").orElseThrow().type(), "an unchanged jar keeps its class loader");

        Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(0));
        TransformJars.build(Map.of("io.acme.V", versioned("v2")), jar);
        Class<?> v2 = plugins.find("io.acme.V").orElseThrow().type();
        assertNotSame(v1, v2);
        assertEquals("v2", applied(v2));
        assertEquals("v1", applied(v1));
    }

    // ---- helpers

    private static String versioned(String version) {
        return """
                package io.acme;
                import com.fasterxml.jackson.databind.node.ObjectNode;
                import java.util.List;
                public final class V implements io.moose.flows.api.Transform {
                    public List<ObjectNode> apply(ObjectNode r) { return List.of(r.put("version", "%s")); }
                }
                """.formatted(version);
    }

    private static String applied(Class<?> type) throws Exception {
        Transform t = (Transform) type.getConstructor().newInstance();
        return t.apply(JSON.createObjectNode()).get(0).path("version").asText();
    }

    private static Transforms plugins(Path folder) {
        return new Transforms(new TransformPlugins(Optional.of(folder)));
    }

    private static List<String> refused(String text, Transforms transforms) {
        return assertThrows(DefinitionException.class, () -> ProjectDefinitionLoader.parseUntrusted(text, "request body", transforms))
                .problems();
    }

    private static ConsumerRecord<byte[], byte[]> input(String json) {
        return new ConsumerRecord<>("in", 0, 0L, 1000L, org.apache.kafka.common.record.TimestampType.CREATE_TIME, -1, -1,
                "k".getBytes(StandardCharsets.UTF_8), json.getBytes(StandardCharsets.UTF_8),
                new org.apache.kafka.common.header.internals.RecordHeaders(), Optional.empty());
    }

    private static JsonNode tree(byte[] bytes) {
        try {
            return JSON.readTree(bytes);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static int lineOf(String text, String marker) {
        List<String> lines = text.lines().toList();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(marker)) {
                return i + 1;
            }
        }
        throw new IllegalArgumentException(marker);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
