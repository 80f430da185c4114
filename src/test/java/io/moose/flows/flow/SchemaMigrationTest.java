package io.moose.flows.flow;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moose.flows.model.DefinitionException;
import io.moose.flows.model.ProjectDefinition;
import io.moose.flows.model.ProjectDefinitionLoader;
import io.moose.flows.model.RecordValidator;
import io.moose.flows.model.VersionRef;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SchemaMigrationTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void copiesSameNamedColumnsAndFillsNewOnesWithTheirDefault() throws Exception {
        ProjectDefinition project = ProjectDefinitionLoader.load(Path.of("conf/project.conf"));
        var from = project.version(VersionRef.parse("UserActivity/0.0")).orElseThrow();
        var to = project.version(VersionRef.parse("UserActivity/0.1")).orElseThrow();
        ObjectNode in = (ObjectNode) JSON.readTree("""
                {"eventId":"e1","timestamp":"2024-01-31T12:00:00Z","userId":"u1","activity":"click:x@/home"}""");

        List<ObjectNode> out = SchemaMigration.between(from, to).apply(in);

        assertEquals(JSON.readTree("""
                {"eventId":"e1","timestamp":"2024-01-31T12:00:00Z","userId":"u1","activity":"click:x@/home","region":"unknown"}"""),
                out.get(0));
        assertTrue(RecordValidator.validate(out.get(0), to).isEmpty());
    }

    @Test
    void widensGrownTypesDropsDroppedColumnsAndZeroFillsNewOnesWithoutDefault() throws Exception {
        ProjectDefinition project = ProjectDefinitionLoader.parse("""
                models = [{ name = M, versions = [
                  { version = "1", columns = [ {name = a, type = Int32}, {name = gone, type = String}, {name = n, type = Int64, nullable = true} ], order-by = [a] }
                  { version = "2", columns = [ {name = a, type = Int64}, {name = n, type = Int64, nullable = true},
                                               {name = added, type = Float64}, {name = maybe, type = String, nullable = true} ], order-by = [a] }
                ]}]
                flows = [{ source = "M/1", target = "M/2" }]
                """, "test");
        var from = project.version(VersionRef.parse("M/1")).orElseThrow();
        var to = project.version(VersionRef.parse("M/2")).orElseThrow();

        ObjectNode out = SchemaMigration.between(from, to).apply((ObjectNode) JSON.readTree("{\"a\":7,\"gone\":\"x\",\"n\":null}")).get(0);

        assertEquals("{\"a\":7,\"n\":null,\"added\":0.0,\"maybe\":null}", out.toString());
        assertTrue(out.get("a").isLong(), "Int32 widened to Int64");
        assertTrue(RecordValidator.validate(out, to).isEmpty());
    }

    @Test
    void refusesANarrowingChangeNamingTheColumn() {
        ProjectDefinition project = ProjectDefinitionLoader.parse("""
                models = [{ name = M, versions = [
                  { version = "1", columns = [ {name = a, type = Int64} ], order-by = [a] }
                  { version = "2", columns = [ {name = a, type = Int32} ], order-by = [a] }
                ]}]
                flows = [{ source = "M/1", target = "M/2", transform = "io.moose.flows.example.ParseActivity" }]
                """, "test");
        var error = assertThrows(DefinitionException.class, () -> SchemaMigration.between(
                project.version(VersionRef.parse("M/1")).orElseThrow(), project.version(VersionRef.parse("M/2")).orElseThrow()));
        assertTrue(error.getMessage().contains("column 'a'"), error.getMessage());
    }
}
