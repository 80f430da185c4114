package io.moose.flows.flow;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import io.moose.flows.api.RecordTransform;
import io.moose.flows.api.Transform;
import io.moose.flows.model.DefinitionException;
import io.moose.flows.model.FlowDefinition;
import io.moose.flows.model.ModelVersion;
import io.moose.flows.model.TransformCheck;

import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Creates the transform a flow runs: the user's class (from the service's class path, else from a
 * jar in {@code moose-flows.transforms.path}), or the generated migration. The one place a flow's
 * transform is looked up: the transform hop and anything else that re-drives records (e.g. a
 * dead-letter replay) call {@link #create}; plan and apply call {@link #problems}. One per node
 * ({@code NodeContext#transforms}).
 */
public final class Transforms implements TransformCheck {

    /** A flow's transform class that this node cannot load or run now; the flow reports it as failed and tries again. */
    public static final class Unavailable extends RuntimeException {
        public Unavailable(String message) {
            super(message);
        }
    }

    private final TransformPlugins plugins;

    public Transforms(TransformPlugins plugins) {
        this.plugins = plugins;
    }

    /** {@code moose-flows.transforms.path}: empty means the class path only. */
    public static Transforms from(Config config) {
        String path = config.getString("moose-flows.transforms.path").trim();
        return new Transforms(new TransformPlugins(path.isEmpty() ? Optional.empty() : Optional.of(Path.of(path))));
    }

    /** Classes on the service's class path only (tests, tools). */
    public static Transforms classPathOnly() {
        return new Transforms(new TransformPlugins(Optional.empty()));
    }

    public TransformPlugins plugins() {
        return plugins;
    }

    /**
     * A new instance per call: each running hop slice has its own.
     *
     * @throws Unavailable         when the class cannot be found, loaded or created here, or its records do not fit the versions
     * @throws DefinitionException when a regular flow names no class
     */
    public FlowTransform create(FlowDefinition flow, ModelVersion source, ModelVersion target) {
        if (flow.transformClass().isEmpty()) {
            if (flow.isMigration()) {
                return FlowTransform.tree(SchemaMigration.between(source, target), new ObjectMapper());
            }
            throw new DefinitionException("flow " + flow.id(), List.of("a regular flow needs a transform class"));
        }
        String name = flow.transformClass().get();
        Class<?> type = resolve(flow, name);
        List<String> problems;
        try {
            problems = problemsOf(type, source, target);
        } catch (LinkageError e) {
            problems = List.of(name + ": cannot be linked: " + e + "; a plugin jar sees only io.moose.flows.api, Jackson and the JDK");
        }
        if (!problems.isEmpty()) {
            throw new Unavailable("flow " + flow.id() + ": " + String.join("; ", problems));
        }
        Object instance;
        try {
            instance = type.getConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new Unavailable("flow " + flow.id() + ": " + name + ": cannot be created: " + cause);
        }
        if (instance instanceof RecordTransform<?, ?> typed) {
            return RecordBinding.running(typed, RecordBinding.typesOf(type), source, new ObjectMapper());
        }
        return FlowTransform.tree((Transform) instance, new ObjectMapper());
    }

    /** Plan and apply: whether the flow's class loads on this node and its records fit the versions. */
    @Override
    public List<String> problems(FlowDefinition flow, ModelVersion source, ModelVersion target) {
        if (flow.transformClass().isEmpty()) {
            return List.of();
        }
        try {
            return problemsOf(resolve(flow, flow.transformClass().get()), source, target);
        } catch (Unavailable e) {
            return List.of(e.getMessage());
        } catch (LinkageError e) {
            return List.of(flow.transformClass().get() + ": cannot be linked: " + e
                    + "; a plugin jar sees only io.moose.flows.api, Jackson and the JDK");
        }
    }

    private static List<String> problemsOf(Class<?> type, ModelVersion source, ModelVersion target) {
        String name = type.getName();
        boolean tree = Transform.class.isAssignableFrom(type);
        boolean typed = RecordTransform.class.isAssignableFrom(type);
        if (!tree && !typed) {
            return List.of(name + ": does not implement " + Transform.class.getName() + " or " + RecordTransform.class.getName());
        }
        if (tree && typed) {
            return List.of(name + ": implements both Transform and RecordTransform; implement one");
        }
        if (!Modifier.isPublic(type.getModifiers()) || Modifier.isAbstract(type.getModifiers()) || !hasPublicNoArgConstructor(type)) {
            return List.of(name + ": a public, concrete class with a public no-argument constructor is needed");
        }
        if (tree) {
            return List.of();
        }
        try {
            return RecordBinding.problems(RecordBinding.typesOf(type), source, target).stream().map(p -> name + ": " + p).toList();
        } catch (IllegalArgumentException e) {
            return List.of(name + ": " + e.getMessage());
        } catch (LinkageError e) {
            return List.of(name + ": its record types cannot be loaded: " + e);
        }
    }

    private static boolean hasPublicNoArgConstructor(Class<?> type) {
        for (Constructor<?> c : type.getConstructors()) {
            if (c.getParameterCount() == 0) {
                return true;
            }
        }
        return false;
    }

    /** The class from the service's class path, else from the first plugin jar that has it. */
    private Class<?> resolve(FlowDefinition flow, String name) {
        try {
            return Class.forName(name, false, Transforms.class.getClassLoader());
        } catch (ClassNotFoundException notOnClassPath) {
            // a plugin's class
        } catch (LinkageError e) {
            throw new Unavailable(name + ": cannot be loaded from the class path (flow " + flow.id() + "): " + e);
        }
        Optional<TransformPlugins.Found> found;
        try {
            found = plugins.find(name);
        } catch (LinkageError e) {
            throw new Unavailable(name + ": cannot be loaded (flow " + flow.id() + "): " + e
                    + "; a plugin jar sees only io.moose.flows.api, Jackson and the JDK; " + plugins.describeSearched());
        } catch (RuntimeException e) {
            throw new Unavailable(name + ": cannot search the plugin folder (flow " + flow.id() + "): " + e.getMessage());
        }
        if (found.isEmpty()) {
            throw new Unavailable(name + ": no such class (flow " + flow.id() + ") on the service's class path or in a plugin jar; "
                    + plugins.describeSearched());
        }
        return found.get().type();
    }
}
