package io.moose.flows.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads a project definition (HOCON) and validates all of it, collecting every problem with the key
 * it sits at, so a user fixes a definition in one round rather than one error per start.
 */
public final class ProjectDefinitionLoader {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String source;
    private final TransformCheck transforms;
    private final List<String> problems = new ArrayList<>();

    private ProjectDefinitionLoader(String source, TransformCheck transforms) {
        this.source = source;
        this.transforms = transforms;
    }

    public static ProjectDefinition load(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new DefinitionException(file.toString(), List.of("file not found"));
        }
        Config config;
        try {
            config = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false)).resolve();
        } catch (ConfigException e) {
            throw new DefinitionException(file.toString(), List.of(e.getMessage()));
        }
        return fromConfig(config, file.toString());
    }

    /**
     * Parses definition text sent over HTTP (the body of {@code POST /project/plan} and
     * {@code /project/apply}) as data only: see {@link DataOnlyHocon}.
     *
     * @throws DataOnlyHocon.Refused when the text is not HOCON or uses an include or a substitution
     * @throws DefinitionException   when it is data but not a definition that can run
     */
    public static ProjectDefinition parseUntrusted(String text, String source) {
        return parseUntrusted(text, source, TransformCheck.NONE);
    }

    /**
     * Like {@link #parseUntrusted(String, String)}, and each flow's transform class checked too (plan
     * and apply): the problems are reported at the flow's {@code transform} key.
     */
    public static ProjectDefinition parseUntrusted(String text, String source, TransformCheck transforms) {
        return fromConfig(DataOnlyHocon.parse(text), source, transforms);
    }

    /**
     * Parses definition text an operator wrote (the file a node was started with, as the cluster
     * stored it), resolving substitutions against the environment. Never for text from a request:
     * that is {@link #parseUntrusted}.
     */
    public static ProjectDefinition parse(String text, String source) {
        Config config;
        try {
            config = ConfigFactory.parseString(text, ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF)).resolve();
        } catch (ConfigException e) {
            throw new DefinitionException(source, List.of(e.getMessage()));
        }
        return fromConfig(config, source);
    }

    public static ProjectDefinition fromConfig(Config config, String source) {
        return fromConfig(config, source, TransformCheck.NONE);
    }

    public static ProjectDefinition fromConfig(Config config, String source, TransformCheck transforms) {
        ProjectDefinitionLoader loader = new ProjectDefinitionLoader(source, transforms);
        ProjectDefinition definition = loader.read(config);
        if (!loader.problems.isEmpty()) {
            throw new DefinitionException(source, loader.problems);
        }
        return definition;
    }

    private ProjectDefinition read(Config root) {
        List<DataModel> models = new ArrayList<>();
        Set<String> modelNames = new HashSet<>();
        for (Indexed entry : list(root, "models", "models")) {
            Config m = entry.config;
            String key = entry.key;
            String name = string(m, "name", key).orElse(null);
            if (name == null) {
                continue;
            }
            if (!Versions.MODEL_NAME.matcher(name).matches()) {
                problemAt(m, "name", key, "model name '" + name + "' must match " + Versions.MODEL_NAME.pattern()
                        + " (it becomes part of topic and table names)");
            } else if (!modelNames.add(name)) {
                problemAt(m, "name", key, "model '" + name + "' is declared twice");
            }
            models.add(new DataModel(name, readVersions(m, key, name)));
        }
        List<FlowDefinition> flows = readFlows(root, models);
        return new ProjectDefinition(models, flows);
    }

    private List<ModelVersion> readVersions(Config model, String modelKey, String modelName) {
        List<ModelVersion> versions = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Indexed entry : list(model, "versions", modelKey + ".versions")) {
            Config v = entry.config;
            String key = entry.key;
            Optional<String> version = string(v, "version", key);
            if (version.isEmpty()) {
                continue;
            }
            if (!Versions.VERSION.matcher(version.get()).matches()) {
                problemAt(v, "version", key, "version '" + version.get() + "' must match " + Versions.VERSION.pattern() + ", e.g. 0.1");
                continue;
            }
            if (!seen.add(version.get())) {
                problemAt(v, "version", key, "version " + version.get() + " of " + modelName + " is declared twice");
                continue;
            }
            List<Column> columns = readColumns(v, key);
            List<String> orderBy = readOrderBy(v, key, columns);
            versions.add(new ModelVersion(new VersionRef(modelName, version.get()), columns, orderBy));
        }
        if (versions.isEmpty() && model.hasPath("versions")) {
            problem(model, modelKey + ".versions", "a model needs at least one version");
        }
        return versions;
    }

    private List<Column> readColumns(Config version, String versionKey) {
        List<Column> columns = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Indexed entry : list(version, "columns", versionKey + ".columns")) {
            Config c = entry.config;
            String key = entry.key;
            Optional<String> name = string(c, "name", key);
            Optional<String> typeName = string(c, "type", key);
            if (name.isEmpty() || typeName.isEmpty()) {
                continue;
            }
            if (!Versions.COLUMN_NAME.matcher(name.get()).matches()) {
                problemAt(c, "name", key, "column name '" + name.get() + "' must match " + Versions.COLUMN_NAME.pattern());
                continue;
            }
            if (!seen.add(name.get())) {
                problemAt(c, "name", key, "column '" + name.get() + "' is declared twice");
                continue;
            }
            Optional<ColumnType> type = ColumnType.parse(typeName.get());
            if (type.isEmpty()) {
                problemAt(c, "type", key, "unknown type '" + typeName.get() + "'; expected one of " + ColumnType.declaredNames());
                continue;
            }
            boolean nullable = c.hasPath("nullable") && bool(c, "nullable", key);
            Optional<JsonNode> defaultValue = Optional.empty();
            if (c.hasPath("default")) {
                JsonNode value = JSON.valueToTree(c.getValue("default").unwrapped());
                Optional<String> wrong = type.get().problemWith(value);
                if (wrong.isPresent()) {
                    problemAt(c, "default", key, "default for " + type.get().declaredName() + " column '" + name.get() + "': " + wrong.get());
                    continue;
                }
                defaultValue = Optional.of(value);
            }
            columns.add(new Column(name.get(), type.get(), nullable, defaultValue));
        }
        if (columns.isEmpty() && version.hasPath("columns")) {
            problem(version, versionKey + ".columns", "a model version needs at least one column");
        }
        return columns;
    }

    private List<String> readOrderBy(Config version, String versionKey, List<Column> columns) {
        if (!version.hasPath("order-by")) {
            return List.of();
        }
        List<String> orderBy;
        try {
            orderBy = version.getStringList("order-by");
        } catch (ConfigException.WrongType e) {
            problemAt(version, "order-by", versionKey, "expected a list of column names");
            return List.of();
        }
        for (String name : orderBy) {
            Optional<Column> column = columns.stream().filter(c -> c.name().equals(name)).findFirst();
            if (column.isEmpty()) {
                problemAt(version, "order-by", versionKey, "'" + name + "' is not a column of this version");
            } else if (column.get().nullable()) {
                problemAt(version, "order-by", versionKey, "'" + name + "' is nullable; ClickHouse sorting keys cannot be nullable");
            }
        }
        return orderBy;
    }

    private List<FlowDefinition> readFlows(Config root, List<DataModel> models) {
        Map<String, DataModel> byName = new HashMap<>();
        models.forEach(m -> byName.put(m.name(), m));
        List<FlowDefinition> flows = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        Map<FlowDefinition, Indexed> flowConfigs = new HashMap<>();
        for (Indexed entry : list(root, "flows", "flows")) {
            Config f = entry.config;
            String key = entry.key;
            Optional<VersionRef> from = versionRef(f, "source", key, byName);
            Optional<VersionRef> to = versionRef(f, "target", key, byName);
            if (from.isEmpty() || to.isEmpty()) {
                continue;
            }
            Optional<String> transform = f.hasPath("transform") ? string(f, "transform", key) : Optional.empty();
            boolean backfill = f.hasPath("backfill") && bool(f, "backfill", key);
            FlowDefinition flow = new FlowDefinition(from.get(), to.get(), transform, backfill);
            if (!ids.add(flow.id())) {
                problem(f, key, "flow " + flow.source() + " -> " + flow.target() + " is declared twice");
                continue;
            }
            if (flow.source().equals(flow.target())) {
                problem(f, key, "a flow cannot read and write the same model version " + flow.source());
                continue;
            }
            if (flow.isMigration()) {
                checkMigration(f, key, flow, byName.get(flow.source().model()));
            } else if (transform.isEmpty()) {
                problem(f, key + ".transform", "a regular flow needs a transform class");
            }
            if (flow.isMigration() && backfill) {
                problemAt(f, "backfill", key, "migration flows always load history; backfill is for regular flows");
            }
            if (transform.isPresent()) {
                ModelVersion sourceVersion = byName.get(flow.source().model()).version(flow.source().version()).orElseThrow();
                ModelVersion targetVersion = byName.get(flow.target().model()).version(flow.target().version()).orElseThrow();
                transforms.problems(flow, sourceVersion, targetVersion).forEach(p -> problemAt(f, "transform", key, p));
            }
            flows.add(flow);
            flowConfigs.put(flow, new Indexed(key, f));
        }
        checkNoCycles(flows, flowConfigs);
        return flows;
    }

    private void checkMigration(Config f, String key, FlowDefinition flow, DataModel model) {
        List<ModelVersion> versions = model.versions();
        int from = versions.indexOf(model.version(flow.source().version()).orElseThrow());
        int to = versions.indexOf(model.version(flow.target().version()).orElseThrow());
        if (to != from + 1) {
            problemAt(f, "target", key, "a migration goes from one version to the next, not " + flow.source()
                    + " -> " + flow.target() + "; " + (from + 1 < versions.size()
                    ? "the version after " + flow.source() + " is " + versions.get(from + 1).ref()
                    : flow.source() + " is the latest version"));
            return;
        }
        if (flow.transformClass().isEmpty()) {
            List<String> columnProblems = new ArrayList<>();
            SchemaDiff.between(versions.get(from), versions.get(to), columnProblems);
            columnProblems.forEach(p -> problem(f, key, "migration " + flow.source() + " -> " + flow.target() + ": " + p));
        }
    }

    /**
     * Regular flows feed ingestion topics, so a cycle among them would copy records forever. The
     * problem is reported at the flow that closes the cycle.
     */
    private void checkNoCycles(List<FlowDefinition> flows, Map<FlowDefinition, Indexed> configs) {
        // Declaration order, so the same definition always reports the same flow.
        Map<VersionRef, List<FlowDefinition>> edges = new LinkedHashMap<>();
        flows.stream().filter(f -> !f.isMigration())
                .forEach(f -> edges.computeIfAbsent(f.source(), k -> new ArrayList<>()).add(f));
        Set<VersionRef> done = new HashSet<>();
        for (VersionRef start : edges.keySet()) {
            List<FlowDefinition> path = new ArrayList<>();
            if (hasCycle(start, edges, path, new ArrayList<>(), done)) {
                FlowDefinition closing = path.get(path.size() - 1);
                int first = 0;
                while (!path.get(first).source().equals(closing.target())) {
                    first++;
                }
                List<FlowDefinition> cycle = path.subList(first, path.size());
                String route = cycle.stream().map(f -> f.source().toString()).reduce((a, b) -> a + " -> " + b).orElseThrow()
                        + " -> " + closing.target();
                Indexed at = configs.get(closing);
                problem(at.config(), at.key(), "regular flows form a cycle " + route
                        + "; records would be copied around it forever");
                return;
            }
        }
    }

    /** Depth-first search; on a cycle, {@code path} holds the flows from {@code node} to the one closing it. */
    private boolean hasCycle(VersionRef node, Map<VersionRef, List<FlowDefinition>> edges, List<FlowDefinition> path,
                             List<VersionRef> onPath, Set<VersionRef> done) {
        if (done.contains(node)) {
            return false;
        }
        onPath.add(node);
        for (FlowDefinition flow : edges.getOrDefault(node, List.of())) {
            path.add(flow);
            if (onPath.contains(flow.target()) || hasCycle(flow.target(), edges, path, onPath, done)) {
                return true;
            }
            path.remove(path.size() - 1);
        }
        onPath.remove(onPath.size() - 1);
        done.add(node);
        return false;
    }

    private Optional<VersionRef> versionRef(Config f, String path, String key, Map<String, DataModel> models) {
        Optional<String> text = string(f, path, key);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        VersionRef ref;
        try {
            ref = VersionRef.parse(text.get());
        } catch (IllegalArgumentException e) {
            problemAt(f, path, key, e.getMessage());
            return Optional.empty();
        }
        DataModel model = models.get(ref.model());
        if (model == null) {
            problemAt(f, path, key, "unknown model '" + ref.model() + "'");
            return Optional.empty();
        }
        if (model.version(ref.version()).isEmpty()) {
            problemAt(f, path, key, "model " + ref.model() + " has no version " + ref.version()
                    + "; declared: " + String.join(", ", model.versions().stream().map(v -> v.ref().version()).toList()));
            return Optional.empty();
        }
        return Optional.of(ref);
    }

    private record Indexed(String key, Config config) {
    }

    private List<Indexed> list(Config parent, String path, String key) {
        if (!parent.hasPath(path)) {
            problem(parent, key, "missing");
            return List.of();
        }
        ConfigValue value = parent.getValue(path);
        if (value.valueType() != ConfigValueType.LIST) {
            problem(parent, key, "expected a list");
            return List.of();
        }
        List<Indexed> result = new ArrayList<>();
        List<? extends ConfigValue> items = parent.getList(path);
        for (int i = 0; i < items.size(); i++) {
            String itemKey = key + "[" + i + "]";
            ConfigValue item = items.get(i);
            if (item.valueType() != ConfigValueType.OBJECT) {
                problem(item, itemKey, "expected an object");
                continue;
            }
            result.add(new Indexed(itemKey, ((com.typesafe.config.ConfigObject) item).toConfig()));
        }
        return result;
    }

    private Optional<String> string(Config c, String path, String key) {
        if (!c.hasPath(path)) {
            problem(c, key + "." + path, "missing");
            return Optional.empty();
        }
        try {
            return Optional.of(c.getString(path));
        } catch (ConfigException.WrongType e) {
            problemAt(c, path, key, "expected a string");
            return Optional.empty();
        }
    }

    private boolean bool(Config c, String path, String key) {
        try {
            return c.getBoolean(path);
        } catch (ConfigException.WrongType e) {
            problemAt(c, path, key, "expected true or false");
            return false;
        }
    }

    /** A problem with the value at {@code path}, reported at that value's own line. */
    private void problemAt(Config c, String path, String parentKey, String message) {
        String key = parentKey + "." + path;
        if (c.hasPath(path)) {
            problem(c.getValue(path), key, message);
        } else {
            problem(c, key, message);
        }
    }

    private void problem(Config at, String key, String message) {
        problem(at.root(), key, message);
    }

    private void problem(ConfigValue at, String key, String message) {
        int line = at.origin().lineNumber();
        problems.add(source + (line > 0 ? ":" + line : "") + ": " + key + ": " + message);
    }
}
